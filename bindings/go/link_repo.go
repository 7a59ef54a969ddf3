//go:build !fidex_pkgconfig && !fidex_external

package fidex

// Inside the fidex repository (the default): the committed header and the static library
// that `cargo build --release --lib` writes at the repository root, with the system
// libraries it needs (`make native-static-libs`, x86_64 Linux glibc). Linking statically
// makes a Go binary that needs no libfidex.so at run time.
//
// Other set-ups: build with -tags fidex_pkgconfig (an installed fidex, `make install`) or
// -tags fidex_external (nothing here: give CGO_CFLAGS and CGO_LDFLAGS yourself); see README.md.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libfidex.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
import "C"
