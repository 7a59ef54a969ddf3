package fidex

/*
#include "fidex.h"

#cgo noescape fidex_vault_identify
#cgo nocallback fidex_vault_identify
#cgo noescape fidex_vault_identify_batch
#cgo nocallback fidex_vault_identify_batch
#cgo noescape fidex_vault_verify
#cgo nocallback fidex_vault_verify
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"unsafe"
)

// SearchOptions are the parameters of Identify and IdentifyBatch.
type SearchOptions struct {
	Purpose   string   // a purpose of the vault, e.g. "identification" (required)
	K         int      // maximum number of matches per probe, 1..MaxK
	Threshold *float32 // nil: the vault's match threshold; else similarity ≥ it (cosine, inner product) or distance ≤ it (l2)
	Payloads  bool     // also return each match's payload, read under the same lock as the search
}

// Match is one search result.
type Match struct {
	ID      FacialID
	Score   float32 // similarity (cosine, inner product: higher is closer) or distance (l2: lower is closer)
	Payload []byte  // with SearchOptions.Payloads: the match's payload (empty if it has none); nil otherwise
}

// Verification is the outcome of a 1:1 verification.
type Verification struct {
	Score     float32 // on the metric's scale (see Match.Score)
	Threshold float32 // the threshold applied
	Matched   bool
}

// The Go view of C.fidex_match must keep the C layout (32 bytes); idOf reads its id.
var _ = [1]struct{}{}[unsafe.Sizeof(C.fidex_match{})-32]

func idOf(m *C.fidex_match) FacialID { return *(*FacialID)(unsafe.Pointer(&m.facial_id)) }

// thresholdArgs maps an optional threshold to the ABI's explicit mode.
func thresholdArgs(t *float32) (C.fidex_threshold_mode, C.float) {
	if t == nil {
		return thresholdVaultDefault, 0
	}
	return thresholdExplicit, C.float(*t)
}

// capacityFor sizes a result array for k matches per probe: k itself when the library
// accepts it, else 0, so that the library refuses k with its own error (never a huge
// allocation here for a k it will refuse anyway).
func capacityFor(k int) int {
	if k < 1 || k > MaxK {
		return 0
	}
	return k
}

// Identify finds up to opts.K live templates matching probe at the threshold, best first,
// among templates whose consent covers opts.Purpose. No match is not an error (an empty
// slice). A match refreshes the template's retention clock.
//
// probe is read in place (not copied) for the duration of the call. Errors:
// ErrDimensionMismatch, ErrNonFiniteValue, ErrZeroVector, ErrUnknownPurpose,
// ErrInvalidArgument (K, Threshold), ErrClosed. ctx is checked before the call; the
// search itself is one C call and is not interrupted.
func (v *Vault) Identify(ctx context.Context, probe []float32, opts SearchOptions) ([]Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var small [8]C.fidex_match // no allocation for the usual small k
	var out []C.fidex_match
	if c := capacityFor(opts.K); c > len(small) {
		out = make([]C.fidex_match, c)
	} else {
		out = small[:c]
	}
	mode, thr := thresholdArgs(opts.Threshold)
	pay := C.fidex_payloads(payloadsNone)
	if opts.Payloads {
		pay = payloadsInclude
	}
	outPtr := &small[0] // out-parameters are never NULL, even with capacity 0
	if len(out) > 0 {
		outPtr = &out[0]
	}
	var n C.size_t
	var payloads *C.fidex_bytes
	var cerr *C.fidex_error
	st := C.fidex_vault_identify(v.ptr, floatPtr(probe), C.size_t(len(probe)), C.size_t(opts.K), mode, thr,
		strPtr(opts.Purpose), C.size_t(len(opts.Purpose)), pay, outPtr, C.size_t(len(out)), &n, &payloads, &cerr)
	runtime.KeepAlive(probe)
	runtime.KeepAlive(opts.Purpose)
	runtime.KeepAlive(v)
	if err := newError("Vault.Identify", st, cerr); err != nil {
		return nil, err
	}
	return matchesOf(out[:n], payloads), nil
}

// matchesOf converts the C matches of one probe, and their payloads (one byte string
// for all, freed here; each Match.Payload a sub-slice of one copy).
func matchesOf(out []C.fidex_match, payloads *C.fidex_bytes) []Match {
	data := payloadBytes(payloads)
	ms := make([]Match, len(out))
	for i := range out {
		ms[i] = matchOf(&out[i], data)
	}
	return ms
}

func payloadBytes(payloads *C.fidex_bytes) []byte {
	if payloads == nil {
		return nil // FIDEX_PAYLOADS_NONE
	}
	if data := takeBytes(payloads); data != nil {
		return data
	}
	return []byte{}
}

func matchOf(m *C.fidex_match, payloads []byte) Match {
	r := Match{ID: idOf(m), Score: float32(m.score)}
	if payloads != nil {
		off, n := uint64(m.payload_offset), uint64(m.payload_len)
		r.Payload = payloads[off : off+n : off+n]
	}
	return r
}

// batchMatchesOf converts the results of n probes (probe i's matches are
// out[i*k : i*k+counts[i]]) into one []Match backing all of them, and copies the payloads
// of all matches once (each Match.Payload a sub-slice; the C bytes are freed here).
func batchMatchesOf(out []C.fidex_match, counts []C.size_t, k int, payloads *C.fidex_bytes) [][]Match {
	data := payloadBytes(payloads)
	total := 0
	for _, c := range counts {
		total += int(c)
	}
	all := make([]Match, total)
	res := make([][]Match, len(counts))
	at := 0
	for i, c := range counts {
		ms := all[at : at+int(c) : at+int(c)]
		for j := range ms {
			ms[j] = matchOf(&out[i*k+j], data)
		}
		res[i] = ms
		at += int(c)
	}
	return res
}

// matchBuffers recycles the C-layout result arrays of IdentifyBatch (n × k matches, up
// to MaxBatch × MaxK): they hold no Go pointers and the library keeps none into them.
var matchBuffers sync.Pool

func getMatchBuffer(size int) *[]C.fidex_match {
	if b, ok := matchBuffers.Get().(*[]C.fidex_match); ok && cap(*b) >= size {
		*b = (*b)[:size]
		return b
	}
	b := make([]C.fidex_match, size)
	return &b
}

// IdentifyBatch identifies n probes at once: probes holds n × dimension floats, row-major
// (read in place, not copied), n ≤ MaxBatch. Result i holds probe i's matches, as
// Identify would return them. With opts.Payloads the payloads of all matches come back in
// one copy.
//
// ctx is checked before the call, not during it. The batch is one C call: the library
// checks every probe before searching any, so a bad probe fails the whole batch before
// anything is searched or any retention clock refreshed. Splitting it here to poll ctx
// between parts would lose that (parts before a bad probe would already have run), so
// split it yourself if you want cancellation points: calls are independent.
func (v *Vault) IdentifyBatch(ctx context.Context, probes []float32, opts SearchOptions) ([][]Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Result arrays sized for n = len/dimension probes; a length that is not a multiple of
	// the dimension, or n beyond the limit, is the library's to refuse.
	n := 0
	if v.dim > 0 && len(probes)/v.dim <= MaxBatch {
		n = len(probes) / v.dim
	}
	k := capacityFor(opts.K)
	buf := getMatchBuffer(n * k)
	defer matchBuffers.Put(buf)
	out := *buf
	counts := make([]C.size_t, n)
	// Out-parameters are never NULL, even with capacity 0 (the library would refuse a
	// NULL one before looking at the other arguments).
	var noMatch C.fidex_match
	var noCount C.size_t
	outPtr, countsPtr := &noMatch, &noCount
	if len(out) > 0 {
		outPtr = &out[0]
	}
	if len(counts) > 0 {
		countsPtr = &counts[0]
	}
	mode, thr := thresholdArgs(opts.Threshold)
	pay := C.fidex_payloads(payloadsNone)
	if opts.Payloads {
		pay = payloadsInclude
	}
	var payloads *C.fidex_bytes
	var cerr *C.fidex_error
	st := C.fidex_vault_identify_batch(v.ptr, floatPtr(probes), C.size_t(len(probes)), C.size_t(opts.K), mode, thr,
		strPtr(opts.Purpose), C.size_t(len(opts.Purpose)), pay, outPtr, C.size_t(len(out)), countsPtr, C.size_t(len(counts)),
		&payloads, &cerr)
	runtime.KeepAlive(probes)
	runtime.KeepAlive(opts.Purpose)
	runtime.KeepAlive(out)
	runtime.KeepAlive(counts)
	runtime.KeepAlive(v)
	if err := newError("Vault.IdentifyBatch", st, cerr); err != nil {
		return nil, err
	}
	return batchMatchesOf(out, counts, k, payloads), nil
}

// Verify compares probe 1:1 with template id for purpose ("authentication", say) at
// threshold (nil: the vault's). A match refreshes the retention clock. Errors:
// ErrNotFound (unknown or expired id), ErrConsentExpired, ErrPurposeNotCovered, and the
// vector errors of Identify.
func (v *Vault) Verify(id FacialID, probe []float32, purpose string, threshold *float32) (Verification, error) {
	mode, thr := thresholdArgs(threshold)
	var res C.fidex_verification
	var cerr *C.fidex_error
	st := C.fidex_vault_verify(v.ptr, idPtr(&id), floatPtr(probe), C.size_t(len(probe)), mode, thr,
		strPtr(purpose), C.size_t(len(purpose)), &res, &cerr)
	runtime.KeepAlive(probe)
	runtime.KeepAlive(purpose)
	runtime.KeepAlive(v)
	if err := newError("Vault.Verify", st, cerr); err != nil {
		return Verification{}, err
	}
	return Verification{Score: float32(res.score), Threshold: float32(res.threshold), Matched: bool(res.matched)}, nil
}
