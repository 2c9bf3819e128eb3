#!/bin/sh
# A test double of drbdsetup. Copy it as "drbdsetup" into a directory that
# holds what it replays:
#   show.json            printed by "drbdsetup show --json" (missing: exit 20)
#   events2.N            printed by the N-th "drbdsetup events2 ..." start
#   events2.N.end        "hang" keeps that stream open; a number is its exit code
#   after.I / go.I       cues (first stream only): once go.I exists, after.I is
#                        printed; I = 1, 2, ... while after.I exists
# Every events2 start is recorded as one line in "starts".
dir=$(dirname "$0")
case "$1" in
show)
  if [ -f "$dir/show.json" ]; then cat "$dir/show.json"; exit 0; fi
  echo "drbdsetup show: DRBD 9 kernel module not loaded" >&2
  exit 20
  ;;
events2)
  echo "$*" >> "$dir/starts"
  n=$(wc -l < "$dir/starts" | tr -d ' ')
  if [ ! -f "$dir/events2.$n" ]; then
    echo "events2: no stream $n recorded" >&2
    exit 10
  fi
  cat "$dir/events2.$n"
  i=1
  while [ "$n" = 1 ] && [ -f "$dir/after.$i" ]; do
    while [ ! -f "$dir/go.$i" ]; do sleep 0.02; done
    cat "$dir/after.$i"
    i=$((i + 1))
  done
  end=$(cat "$dir/events2.$n.end" 2>/dev/null || echo 0)
  if [ "$end" = "hang" ]; then exec sleep 3600; fi
  exit "$end"
  ;;
*)
  echo "drbdsetup double: unsupported command $1" >&2
  exit 1
  ;;
esac
