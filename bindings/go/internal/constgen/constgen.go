// Package constgen renders constants_gen.go of package fidex from the JSON document that
// the C ABI's fidex_constants_json() returns: status codes with their name, family and
// static message, and every other #define of fidex.h (limits, enum values, version).
//
// It is pure Go so that the test of package fidex can render the file from the library it
// is linked with and compare (TestConstantsGenerated), and rewrite it with
// `go generate` (which runs that test with -update-constants). No number is typed by hand.
package constgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ABI is the decoded fidex_constants_json() document.
type ABI struct {
	Version   string
	Status    []Status
	Constants []Constant // every non-status constant, sorted by name
}

// Status is one status code of the ABI.
type Status struct {
	Name    string // e.g. FIDEX_NO_CONSENT
	Code    uint32
	Family  string // e.g. consent
	Message string // static English description
}

// Constant is one #define of fidex.h that is not a status code.
type Constant struct {
	Name  string // e.g. FIDEX_MAX_K
	Value uint64
}

// Parse decodes the JSON document of fidex_constants_json().
func Parse(doc []byte) (*ABI, error) {
	var raw struct {
		Version string `json:"version"`
		Status  []struct {
			Name    string `json:"name"`
			Code    uint32 `json:"code"`
			Family  string `json:"family"`
			Message string `json:"message"`
		} `json:"status"`
		Constants map[string]json.Number `json:"constants"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // FIDEX_AUDIT_END is UINT64_MAX, beyond float64 precision
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("constants JSON: %w", err)
	}
	if raw.Version == "" || len(raw.Status) == 0 || len(raw.Constants) == 0 {
		return nil, fmt.Errorf("constants JSON: version, status or constants missing")
	}
	abi := &ABI{Version: raw.Version}
	isStatus := map[string]bool{}
	for _, s := range raw.Status {
		abi.Status = append(abi.Status, Status{s.Name, s.Code, s.Family, s.Message})
		isStatus[s.Name] = true
	}
	for name, num := range raw.Constants {
		v, err := strconv.ParseUint(num.String(), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("constant %s = %s: not an unsigned integer", name, num)
		}
		if isStatus[name] {
			// Listed in both; the status entry is authoritative, but they must agree.
			for _, s := range abi.Status {
				if s.Name == name && uint64(s.Code) != v {
					return nil, fmt.Errorf("%s is %d in constants but %d in status", name, v, s.Code)
				}
			}
			continue
		}
		abi.Constants = append(abi.Constants, Constant{name, v})
	}
	sort.Slice(abi.Constants, func(i, j int) bool { return abi.Constants[i].Name < abi.Constants[j].Name })
	return abi, nil
}

// group says how the constants whose name starts with Prefix appear in Go.
type group struct {
	Prefix   string // C prefix, e.g. FIDEX_DELETION_
	GoPrefix string // Go name prefix; lower-case = unexported (used by the binding only)
	Type     string // Go type, or "" for an untyped constant
	Doc      string
}

// groups is the only hand-written part: which Go type each family of #defines gets. A
// constant matching no group becomes an exported untyped constant (so a new #define of
// the ABI appears without touching this list).
var groups = []group{
	{"FIDEX_DELETION_", "Deletion", "DeletionReason", "Why a template is deleted (Vault.Delete, Vault.DeleteMany)."},
	{"FIDEX_RECEIPT_", "Receipt", "ReceiptKind", "The kind of a verified receipt (VerifyReceipt)."},
	{"FIDEX_THRESHOLD_", "threshold", "", "Threshold modes (SearchOptions.Threshold chooses)."},
	{"FIDEX_CLOCK_", "clock", "", "Clock modes (the *At variants pass a fixed time)."},
	{"FIDEX_EXPORT_", "export", "", "Subject export modes (ExportSubject's withTemplate)."},
	{"FIDEX_PAYLOADS_", "payloads", "", "Payload modes (SearchOptions.Payloads)."},
	{"FIDEX_VERSION_", "Version", "", "The version of fidex.h the constants were generated from."},
	{"FIDEX_", "", "", "Limits and other constants of fidex.h."},
}

var initialisms = map[string]string{"ID": "ID", "JSON": "JSON", "IO": "IO", "UTF8": "UTF8", "URL": "URL", "OK": "OK", "K": "K"}

// Camel turns SNAKE_CASE words into a Go identifier part: NOT_A_VAULT → NotAVault,
// INVALID_JSON → InvalidJSON, FACIAL_ID_TEXT_LEN → FacialIDTextLen.
func Camel(snake string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.ToUpper(snake), "_") {
		if w == "" {
			continue
		}
		if ini, ok := initialisms[w]; ok {
			b.WriteString(ini)
			continue
		}
		b.WriteString(w[:1] + strings.ToLower(w[1:]))
	}
	return b.String()
}

// CodeName is the Go constant of a status: FIDEX_NO_CONSENT → CodeNoConsent.
func CodeName(status string) string { return "Code" + Camel(strings.TrimPrefix(status, "FIDEX_")) }

// FamilyName is the Go constant of a family: invalid_input → FamilyInvalidInput.
func FamilyName(family string) string { return "Family" + Camel(family) }

// FamilySentinel is the sentinel error of a family: invalid_input → ErrInvalidInput.
func FamilySentinel(family string) string { return "Err" + Camel(family) }

// CodeSentinel is the sentinel error of one status (FIDEX_NO_CONSENT → ErrNoConsent); when
// that name is also a family's sentinel (FIDEX_NOT_FOUND → ErrNotFound, family not_found),
// the family's sentinel is the one that exists and CodeSentinel returns "".
func (a *ABI) CodeSentinel(s Status) string {
	name := "Err" + Camel(strings.TrimPrefix(s.Name, "FIDEX_"))
	for _, f := range a.Families() {
		if FamilySentinel(f) == name {
			return ""
		}
	}
	return name
}

// Families lists the error families in order of first appearance ("ok" excluded).
func (a *ABI) Families() []string {
	var out []string
	seen := map[string]bool{"ok": true}
	for _, s := range a.Status {
		if !seen[s.Family] {
			seen[s.Family] = true
			out = append(out, s.Family)
		}
	}
	return out
}

// GoConstant is the Go name and type of a non-status constant.
func GoConstant(c Constant) (name, typ string, g group) {
	for _, g := range groups {
		if strings.HasPrefix(c.Name, g.Prefix) {
			name := g.GoPrefix + Camel(strings.TrimPrefix(c.Name, g.Prefix))
			if g.GoPrefix == "" {
				name = Camel(strings.TrimPrefix(c.Name, g.Prefix))
			}
			typ := g.Type
			if typ == "" && c.Value > math.MaxInt64 {
				typ = "uint64" // FIDEX_AUDIT_END: an untyped constant would overflow int
			}
			return name, typ, g
		}
	}
	panic("unreachable: the last group matches every FIDEX_ constant")
}

// Render returns the Go source of constants_gen.go for the JSON document.
func Render(doc []byte) ([]byte, error) {
	a, err := Parse(doc)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("// Code generated from fidex_constants_json() of libfidex %s by internal/constgen\n", a.Version)
	p("// (`go generate`); DO NOT EDIT. TestConstantsGenerated checks it against the linked library.\n\n")
	p("package fidex\n\n")
	p("// generatedVersion is the library version this file was generated from.\n")
	p("const generatedVersion = %q\n\n", a.Version)

	p("// Status codes of the C ABI (fidex_status). Codes never change meaning.\nconst (\n")
	for _, s := range a.Status {
		p("\t// %s (family %s): %s.\n\t%s Code = %d\n", s.Name, s.Family, s.Message, CodeName(s.Name), s.Code)
	}
	p(")\n\n")

	p("// Error families: every status belongs to one; each has a sentinel error.\nconst (\n")
	p("\t%s Family = %q\n", FamilyName("ok"), "ok")
	for _, f := range a.Families() {
		p("\t%s Family = %q\n", FamilyName(f), f)
	}
	p(")\n\n")

	p("// Sentinel errors, for errors.Is: one per family (matching every code of the family)\n")
	p("// and one per status code whose name is not already its family's.\nvar (\n")
	for _, f := range a.Families() {
		var members []string
		for _, s := range a.Status {
			if s.Family == f {
				members = append(members, CodeName(s.Name))
			}
		}
		p("\t// %s matches every error of family %q: %s.\n", FamilySentinel(f), f, strings.Join(members, ", "))
		p("\t%s error = &sentinel{family: %s}\n", FamilySentinel(f), FamilyName(f))
	}
	for _, s := range a.Status {
		if s.Code == 0 {
			continue
		}
		if name := a.CodeSentinel(s); name != "" {
			p("\t// %s matches %s (%d): %s.\n\t%s error = &sentinel{code: %s}\n", name, CodeName(s.Name), s.Code, s.Message, name, CodeName(s.Name))
		}
	}
	p(")\n\n")

	p("// statusTable holds each code's C name, family and static message.\nvar statusTable = map[Code]statusInfo{\n")
	for _, s := range a.Status {
		p("\t%s: {name: %q, family: %s, message: %q},\n", CodeName(s.Name), s.Name, FamilyName(s.Family), s.Message)
	}
	p("}\n\n")

	// Constants, grouped.
	byGroup := map[string][]Constant{}
	for _, c := range a.Constants {
		_, _, g := GoConstant(c)
		byGroup[g.Prefix] = append(byGroup[g.Prefix], c)
	}
	for _, g := range groups {
		cs := byGroup[g.Prefix]
		if g.Type != "" || strings.ToLower(g.GoPrefix) == g.GoPrefix && g.GoPrefix != "" {
			// Enum values read best in numeric order; the rest stay sorted by name.
			sort.SliceStable(cs, func(i, j int) bool { return cs[i].Value < cs[j].Value })
		}
		if len(cs) == 0 {
			continue
		}
		p("// %s\nconst (\n", g.Doc)
		for _, c := range cs {
			name, typ, _ := GoConstant(c)
			if typ != "" {
				p("\t%s %s = %d // %s\n", name, typ, c.Value, c.Name)
			} else {
				p("\t%s = %d // %s\n", name, c.Value, c.Name)
			}
		}
		p(")\n\n")
	}
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("generated code does not format: %w\n%s", err, b.Bytes())
	}
	return out, nil
}
