module github.com/fidex/fidex/bindings/go

// runtime.AddCleanup and the #cgo noescape / nocallback directives need Go 1.24.
go 1.24
