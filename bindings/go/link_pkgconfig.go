//go:build fidex_pkgconfig && !fidex_external

package fidex

// An installed fidex (`make install PREFIX=...`): header and library from pkg-config's
// fidex.pc (set PKG_CONFIG_PATH=PREFIX/lib/pkgconfig). This links the installed shared
// library libfidex.so.0.2; outside the loader's default paths add
// CGO_LDFLAGS=-Wl,-rpath,PREFIX/lib or set LD_LIBRARY_PATH at run time.

// #cgo pkg-config: fidex
import "C"
