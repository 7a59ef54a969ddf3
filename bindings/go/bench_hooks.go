package fidex

import "time"

// Set by native_bench.go (build tag fidex_bench) for the benchmarks: the identify calls
// timed in a C loop, to compare with the same calls through this binding. nil otherwise.
var (
	nativeIdentify      func(v *Vault, probe []float32, purpose string, k, iters int) (time.Duration, error)
	nativeIdentifyBatch func(v *Vault, probes []float32, purpose string, k, iters int) (time.Duration, error)
)
