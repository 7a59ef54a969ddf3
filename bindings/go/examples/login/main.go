// Command login is a face-login flow with the fidex Go binding:
//
//	create a vault → enroll two users with explicit consent (one call for both) →
//	log in by face (1:N identify, the user reference in the same call) → verify 1:1 →
//	handle errors with errors.Is → delete one user with a signed receipt → verify that
//	receipt offline with the published key → reject a tampered receipt → close.
//
// Face embeddings come from a face model in a real app; here they are synthetic, seeded
// "identity-clustered" unit vectors (each person a random centre, each capture the centre
// plus a little noise).
//
// Run (after `cargo build --release --lib` at the repository root):
//
//	cd bindings/go && go run ./examples/login [vault-directory]
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	fidex "github.com/fidex/fidex/bindings/go"
)

const dim = 512

var rng = rand.New(rand.NewPCG(7, 42))

func normalise(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(n))
	}
	return v
}

// person returns a new identity's centre; capture a "photo" of it.
func person() []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return normalise(v)
}

func capture(centre []float32) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = centre[i] + float32(0.5/math.Sqrt(dim)*rng.NormFloat64())
	}
	return normalise(v)
}

func main() {
	log.SetFlags(0)
	if err := run(); err != nil {
		log.Fatalf("login example: %v", err)
	}
	fmt.Println("login example: OK")
}

func run() error {
	ctx := context.Background()
	fmt.Println("fidex", fidex.Version())

	dir := ""
	if len(os.Args) > 1 {
		dir = os.Args[1]
	} else {
		tmp, err := os.MkdirTemp("", "fidex-go-login-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = filepath.Join(tmp, "vault")
	}

	// 1. A key only the app holds (store key.ExportText() like a password), and a vault.
	key, err := fidex.GenerateKey()
	if err != nil {
		return err
	}
	defer key.Close()
	v, err := fidex.Create(dir, key, fidex.Config{Dim: dim, MatchThreshold: fidex.Ptr[float32](0.6)})
	if err != nil {
		return err
	}
	defer v.Close() // commits and releases the lock; a second Close is a no-op

	// 2. Enroll two users, each with their own explicit consent, in one all-or-nothing call.
	alice, bob := person(), person()
	var consents [][]byte
	for _, user := range []string{"alice", "bob"} {
		c, err := fidex.ExplicitConsent(user, "Acme Corp", "https://acme.example/privacy",
			[]string{"authentication", "identification"}, time.Now().Add(-time.Minute))
		if err != nil {
			return err
		}
		consents = append(consents, c)
	}
	templates := append(capture(alice), capture(bob)...) // one n × d slice, passed without copying
	ids, err := v.EnrollMany(ctx, templates, consents, [][]byte{[]byte("alice"), []byte("bob")})
	if err != nil {
		return err
	}
	fmt.Printf("enrolled alice as %s, bob as %s\n", ids[0], ids[1])
	if _, err := v.Commit(); err != nil { // durable; receipts sign committed state
		return err
	}
	vk, err := v.VerificationKey()
	if err != nil {
		return err
	}
	fmt.Println("published verification key:", vk)

	// 3. Log in by face: who is this? The payload (the app's user reference) comes with it.
	matches, err := v.Identify(ctx, capture(bob), fidex.SearchOptions{Purpose: "identification", K: 1, Payloads: true})
	if err != nil {
		return err
	}
	if len(matches) != 1 || matches[0].ID != ids[1] {
		return fmt.Errorf("bob was not recognised: %+v", matches)
	}
	fmt.Printf("login: matched user %q (score %.3f)\n", matches[0].Payload, matches[0].Score)

	// 4. 1:1 verification: is this alice? Is bob alice?
	res, err := v.Verify(ids[0], capture(alice), "authentication", nil)
	if err != nil || !res.Matched {
		return fmt.Errorf("alice not verified: %+v, %v", res, err)
	}
	fmt.Printf("verify alice as alice: score %.3f ≥ %.2f → matched\n", res.Score, res.Threshold)
	if res, err = v.Verify(ids[0], capture(bob), "authentication", nil); err != nil || res.Matched {
		return fmt.Errorf("bob verified as alice: %+v, %v", res, err)
	}
	fmt.Printf("verify bob as alice: score %.3f → rejected\n", res.Score)

	// 5. Errors: one *fidex.Error per call, matched by family or by code.
	bad := capture(alice)
	bad[7] = float32(math.NaN())
	_, err = v.Identify(ctx, bad, fidex.SearchOptions{Purpose: "identification", K: 1})
	var fe *fidex.Error
	if !errors.Is(err, fidex.ErrNonFiniteValue) || !errors.As(err, &fe) {
		return fmt.Errorf("a NaN probe gave %v", err)
	}
	fmt.Printf("NaN probe refused: code %d (%s): %s\n", fe.Code, fe.Code, fe.Message)
	_, err = v.Enroll(capture(alice), nil, nil)
	if !errors.Is(err, fidex.ErrNoConsent) || !errors.Is(err, fidex.ErrConsent) { // the code, and its family
		return fmt.Errorf("enrollment without consent gave %v", err)
	}
	fmt.Println("enrollment without consent refused:", err)

	// 6. Alice asks to be forgotten: delete with a signed receipt.
	receipt, err := v.Delete(ids[0], fidex.DeletionSubjectRequest)
	if err != nil {
		return err
	}
	if matches, err = v.Identify(ctx, capture(alice), fidex.SearchOptions{Purpose: "identification", K: 1}); err != nil || len(matches) != 0 {
		return fmt.Errorf("alice still found: %+v, %v", matches, err)
	}
	fmt.Printf("deleted alice; deletion receipt: %d bytes of JSON\n", len(receipt))

	// 7. Anyone with the published key verifies the receipt offline, without the vault.
	kind, err := fidex.VerifyReceipt(receipt, vk)
	if err != nil || kind != fidex.ReceiptDeletion {
		return fmt.Errorf("receipt: %v, %v", kind, err)
	}
	fmt.Println("deletion receipt verifies with the published key:", kind)

	// 8. A receipt changed by one character is rejected.
	tampered := strings.Replace(receipt, `"subject_request"`, `"admin_request__"`, 1)
	if _, err := fidex.VerifyReceipt(tampered, vk); !errors.Is(err, fidex.ErrVerificationFailed) {
		return fmt.Errorf("tampered receipt: %v", err)
	}
	fmt.Println("tampered receipt rejected")

	// 9. Close commits; afterwards the vault answers ErrClosed.
	if err := v.Close(); err != nil {
		return err
	}
	if _, err := v.Len(); !errors.Is(err, fidex.ErrClosed) {
		return fmt.Errorf("after Close: %v", err)
	}
	return nil
}
