package fidex

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// faces draws seeded "identity-clustered" synthetic face embeddings, like
// examples/c/login.c: each identity a random unit centre, each capture the centre plus
// Gaussian noise of norm about 0.5, renormalised. Two captures of one identity then have
// a cosine similarity near 0.8 (above the default match threshold 0.5, below the
// duplicate threshold 0.9); two identities near 0.
type faces struct {
	rng *rand.Rand
	dim int
}

func newFaces(seed uint64, dim int) *faces {
	return &faces{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), dim: dim}
}

func normalise(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

// identity returns a new identity's centre.
func (f *faces) identity() []float32 {
	v := make([]float32, f.dim)
	for i := range v {
		v[i] = float32(f.rng.NormFloat64())
	}
	return normalise(v)
}

// capture returns one capture (a "photo") of the identity with centre c.
func (f *faces) capture(c []float32) []float32 {
	noise := 0.5 / math.Sqrt(float64(f.dim))
	v := make([]float32, f.dim)
	for i := range v {
		v[i] = c[i] + float32(noise*f.rng.NormFloat64())
	}
	return normalise(v)
}

// rows concatenates vectors into one row-major n × d slice (the batch form).
func rows(vs ...[]float32) []float32 {
	var out []float32
	for _, v := range vs {
		out = append(out, v...)
	}
	return out
}

var allPurposes = []string{"authentication", "identification"}

// consentFor builds an explicit-consent receipt for subject covering purposes.
func consentFor(t testing.TB, subject string, purposes ...string) []byte {
	t.Helper()
	if len(purposes) == 0 {
		purposes = allPurposes
	}
	c, err := ExplicitConsent(subject, "Acme Test Corp", "https://acme.example/privacy", purposes, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatalf("ExplicitConsent: %v", err)
	}
	return c
}

// newTestVault creates a vault in a fresh temporary directory and closes it at the end.
func newTestVault(t testing.TB, cfg Config) (*Vault, *Key, string) {
	t.Helper()
	key, err := GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := Create(dir, key, cfg)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return v, key, dir
}

// wantCode fails the test unless err is a *Error with code want and matches the sentinels
// in is (family and code sentinels, checked with errors.Is).
func wantCode(t testing.TB, err error, want Code, is ...error) *Error {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("want a *fidex.Error with %s, got %T %v", want, err, err)
	}
	if fe.Code != want {
		t.Fatalf("want %s (%d), got %s (%d): %v", want, want, fe.Code, fe.Code, err)
	}
	if fe.Message == "" {
		t.Fatalf("%s without a detailed message", want)
	}
	for _, s := range is {
		if !errors.Is(err, s) {
			t.Fatalf("errors.Is(%v, %v) is false", err, s)
		}
	}
	return fe
}

// repoRoot is the fidex repository root (bindings/go/../..).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// cli returns the path of the fidex command-line tool, used as an independent checker of
// receipts and locks. test.sh builds it and sets FIDEX_CLI; a plain `go test` looks in
// the cargo target directory and skips the cross-checks when it was not built.
func cli(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FIDEX_CLI"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("FIDEX_CLI=%s: %v", p, err)
		}
		return p
	}
	target := os.Getenv("CARGO_TARGET_DIR")
	if target == "" {
		target = filepath.Join(repoRoot(t), "target")
	}
	p := filepath.Join(target, "release", "fidex")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("the fidex CLI is not built (%s); run `cargo build --release --bin fidex` or test.sh for the CLI cross-checks", p)
	}
	return p
}

// runCLI runs the CLI and returns its exit code and combined output.
func runCLI(t testing.TB, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(cli(t), args...)
	cmd.Env = append(os.Environ(), "FIDEX_KEY=", "FIDEX_KEY_FILE=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	default:
		t.Fatalf("running the CLI: %v", err)
		return -1, ""
	}
}

// writeFile writes text to a new file in a temporary directory and returns its path.
func writeFile(t testing.TB, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "tests", "fixtures", "kantara", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errorIs(err, target error) bool { return errors.Is(err, target) }
