// Command scheduler_client is the extender benchmark's client: it posts filter
// and prioritize calls the way kube-scheduler's HTTP extender does (Go's
// net/http with keep-alive, one call at a time, Content-Type
// application/json) and times each call, so the latency measured is the
// extender's and the transport's, not a JavaScript client's own collections.
//
// Protocol (the same as extender_bench.ts's Deno client): after a check call
// and 50 warm-up pairs it prints "warm", waits for a line on stdin, runs the
// measured pairs and prints one JSON line:
// {"filter":[ms…],"prioritize":[ms…],"pairs":[ms…],"cpuMsPerPair":…,
// "elapsedS":…,"passed":…}
//
// Usage: scheduler_client -base=http://127.0.0.1:PORT -body=FILE -runs=N
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"syscall"
	"time"
)

type series struct {
	Filter       []float64 `json:"filter"`
	Prioritize   []float64 `json:"prioritize"`
	Pairs        []float64 `json:"pairs"`
	CPUMsPerPair float64   `json:"cpuMsPerPair"`
	ElapsedS     float64   `json:"elapsedS"`
	Passed       int       `json:"passed"`
}

type client struct {
	http   *http.Client
	base   string
	body   []byte
	answer bytes.Buffer
}

// post sends one call and reads the whole answer without decoding it:
// decoding is kube-scheduler's cost, not the extender's.
func (c *client) post(verb string) error {
	request, err := http.NewRequest("POST", c.base+"/"+verb, bytes.NewReader(c.body))
	if err != nil {
		return err
	}
	request.Header.Set("Content-Type", "application/json")
	response, err := c.http.Do(request)
	if err != nil {
		return fmt.Errorf("cannot %s: %w", verb, err)
	}
	defer response.Body.Close()
	c.answer.Reset()
	if _, err := io.Copy(&c.answer, response.Body); err != nil {
		return fmt.Errorf("cannot read the %s answer: %w", verb, err)
	}
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("cannot %s: HTTP %d", verb, response.StatusCode)
	}
	return nil
}

// passed is the number of nodes the filter answer lets through.
func (c *client) passed() (int, error) {
	if err := c.post("filter"); err != nil {
		return 0, err
	}
	var result struct {
		NodeNames *[]string `json:"NodeNames"`
		Nodes     *struct {
			Items []json.RawMessage `json:"items"`
		} `json:"Nodes"`
	}
	if err := json.Unmarshal(c.answer.Bytes(), &result); err != nil {
		return 0, fmt.Errorf("cannot decode the filter answer: %w", err)
	}
	switch {
	case result.NodeNames != nil:
		return len(*result.NodeNames), nil
	case result.Nodes != nil:
		return len(result.Nodes.Items), nil
	}
	return 0, fmt.Errorf("cannot bench: no nodes in the filter answer")
}

func cpuMs() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e6
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func run(base, bodyFile string, runs int) error {
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	c := &client{http: &http.Client{Timeout: 30 * time.Second}, base: base, body: body}
	passed, err := c.passed()
	if err != nil {
		return err
	}
	for i := 0; i < 50; i++ {
		if err := c.post("filter"); err != nil {
			return err
		}
		if err := c.post("prioritize"); err != nil {
			return err
		}
	}
	fmt.Println("warm")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("cannot bench: no go from the server side: %w", err)
	}
	s := series{
		Filter:     make([]float64, 0, runs),
		Prioritize: make([]float64, 0, runs),
		Pairs:      make([]float64, 0, runs),
		Passed:     passed,
	}
	started := time.Now()
	cpuStart := cpuMs()
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		if err := c.post("filter"); err != nil {
			return err
		}
		t1 := time.Now()
		if err := c.post("prioritize"); err != nil {
			return err
		}
		t2 := time.Now()
		s.Filter = append(s.Filter, ms(t1.Sub(t0)))
		s.Prioritize = append(s.Prioritize, ms(t2.Sub(t1)))
		s.Pairs = append(s.Pairs, ms(t2.Sub(t0)))
	}
	s.ElapsedS = time.Since(started).Seconds()
	s.CPUMsPerPair = (cpuMs() - cpuStart) / float64(runs)
	for _, list := range [][]float64{s.Filter, s.Prioritize, s.Pairs} {
		sort.Float64s(list)
	}
	line, err := json.Marshal(s)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

func main() {
	base := flag.String("base", "", "the extender's base URL")
	bodyFile := flag.String("body", "", "the file holding the request body")
	runs := flag.Int("runs", 1000, "measured filter + prioritize pairs")
	flag.Parse()
	if *base == "" || *bodyFile == "" {
		fmt.Fprintln(os.Stderr, "Cannot run the client: -base and -body are required")
		os.Exit(2)
	}
	if err := run(*base, *bodyFile, *runs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
