module linstor-suite.invalid/tests/bench/scheduler_client

go 1.22
