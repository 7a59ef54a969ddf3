package fidex

import (
	"encoding/json"
	"time"
)

// Config is a new vault's configuration. Only Dim is required; a zero field means the
// library's default (shown in the comments; docs/C_API.md has the reference). It crosses
// the ABI as the JSON object fidex_vault_create takes, and the library validates every
// field (ErrInvalidConfig names the field that is wrong).
//
//	cfg := fidex.Config{Dim: 512, MatchThreshold: fidex.Ptr[float32](0.6)}
type Config struct {
	Dim                int           // template dimension, e.g. 512 (required)
	Metric             string        // "cosine" (default), "inner_product" or "l2"
	Storage            string        // "f32" (default), "f16", "int8" or "int8_no_rerank"
	MatchThreshold     *float32      // nil: 0.5
	DuplicateThreshold *float32      // nil: 0.9
	NoDuplicateCheck   bool          // no duplicate check at enrollment (duplicate_threshold null)
	Retention          time.Duration // 0: three years; whole seconds (retention_secs)
	MaxTemplates       int           // 0: 10,000,000
	Purposes           []string      // nil: ["authentication", "identification"]
	Cancelable         bool          // cancelable templates
	SearchThreads      int           // 0: one per core
	NoAutoPurge        bool          // do not purge expired templates at each commit (auto_purge false)
	Backend            string        // "flat" (default) or "faiss_ivf" (library built with faiss)
	IVFNList           int           // faiss_ivf only; 0: 1024
	IVFNProbe          int           // faiss_ivf only; 0: 32
	IVFSQ8             bool          // faiss_ivf only
	// Extra holds further configuration fields by their JSON name, passed as they are (an
	// option of a newer library before this binding names it). Vault.Config puts the
	// fields it does not know here.
	Extra map[string]any
}

// Ptr returns a pointer to v, for the optional fields of Config and SearchOptions:
// fidex.Ptr[float32](0.6).
func Ptr[T any](v T) *T { return &v }

// MarshalJSON writes the configuration object of fidex_vault_create: the fields that are
// set, so that the library applies its own defaults to the others.
func (c Config) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range c.Extra {
		m[k] = v
	}
	m["dimension"] = c.Dim
	set := func(name string, v any, ok bool) {
		if ok {
			m[name] = v
		}
	}
	set("metric", c.Metric, c.Metric != "")
	set("storage", c.Storage, c.Storage != "")
	if c.MatchThreshold != nil {
		m["match_threshold"] = *c.MatchThreshold
	}
	if c.DuplicateThreshold != nil {
		m["duplicate_threshold"] = *c.DuplicateThreshold
	}
	if c.NoDuplicateCheck {
		m["duplicate_threshold"] = nil // both set: the library sees null, the stronger choice
	}
	// A non-zero Retention below one second becomes 0 s, which the library refuses rather
	// than this binding silently applying the default.
	set("retention_secs", int64(c.Retention/time.Second), c.Retention != 0)
	set("max_templates", c.MaxTemplates, c.MaxTemplates != 0)
	set("purposes", c.Purposes, c.Purposes != nil)
	set("cancelable", true, c.Cancelable)
	set("search_threads", c.SearchThreads, c.SearchThreads != 0)
	set("auto_purge", false, c.NoAutoPurge)
	set("backend", c.Backend, c.Backend != "")
	set("ivf_nlist", c.IVFNList, c.IVFNList != 0)
	set("ivf_nprobe", c.IVFNProbe, c.IVFNProbe != 0)
	set("ivf_sq8", true, c.IVFSQ8)
	return json.Marshal(m)
}

// UnmarshalJSON reads the configuration JSON of fidex_vault_config (every field).
func (c *Config) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*c = Config{}
	take := func(name string, out any) error {
		raw, ok := m[name]
		if !ok {
			return nil
		}
		delete(m, name)
		return json.Unmarshal(raw, out)
	}
	var retention int64
	var autoPurge = true
	var dup *float32
	var err error
	_, hasDup := m["duplicate_threshold"]
	for _, f := range []struct {
		name string
		out  any
	}{
		{"dimension", &c.Dim}, {"metric", &c.Metric}, {"storage", &c.Storage},
		{"match_threshold", &c.MatchThreshold}, {"duplicate_threshold", &dup},
		{"retention_secs", &retention}, {"max_templates", &c.MaxTemplates},
		{"purposes", &c.Purposes}, {"cancelable", &c.Cancelable},
		{"search_threads", &c.SearchThreads}, {"auto_purge", &autoPurge},
		{"backend", &c.Backend}, {"ivf_nlist", &c.IVFNList}, {"ivf_nprobe", &c.IVFNProbe},
		{"ivf_sq8", &c.IVFSQ8},
	} {
		if err = take(f.name, f.out); err != nil {
			return err
		}
	}
	c.DuplicateThreshold = dup
	c.NoDuplicateCheck = hasDup && dup == nil
	c.Retention = time.Duration(retention) * time.Second
	c.NoAutoPurge = !autoPurge
	for k, raw := range m {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if c.Extra == nil {
			c.Extra = map[string]any{}
		}
		c.Extra[k] = v
	}
	return nil
}
