package fidex

/*
#include "fidex.h"

#cgo noescape fidex_vault_config
#cgo nocallback fidex_vault_config
#cgo noescape fidex_vault_header
#cgo nocallback fidex_vault_header
#cgo noescape fidex_vault_read_header
#cgo nocallback fidex_vault_read_header
#cgo noescape fidex_vault_id
#cgo nocallback fidex_vault_id
#cgo noescape fidex_vault_key_fingerprint
#cgo nocallback fidex_vault_key_fingerprint
#cgo noescape fidex_vault_len
#cgo nocallback fidex_vault_len
#cgo noescape fidex_vault_contains
#cgo nocallback fidex_vault_contains
#cgo noescape fidex_vault_facial_ids
#cgo nocallback fidex_vault_facial_ids
#cgo noescape fidex_vault_consent
#cgo nocallback fidex_vault_consent
#cgo noescape fidex_vault_payload
#cgo nocallback fidex_vault_payload
#cgo noescape fidex_vault_stats
#cgo nocallback fidex_vault_stats
#cgo noescape fidex_vault_audit_entries
#cgo nocallback fidex_vault_audit_entries
#cgo noescape fidex_vault_export_subject
#cgo nocallback fidex_vault_export_subject
#cgo noescape fidex_vault_processing_record
#cgo nocallback fidex_vault_processing_record
#cgo noescape fidex_vault_pending_removals
#cgo nocallback fidex_vault_pending_removals
*/
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
)

// Config returns the vault's configuration, every field filled in.
func (v *Vault) Config() (Config, error) {
	var c Config
	data, err := v.configJSON()
	if err == nil {
		err = decodeJSON("Vault.Config", data, &c)
	}
	return c, err
}

// Header is a vault's plaintext header (readable without the key).
type Header struct {
	Version    int    `json:"version"`
	Flags      uint64 `json:"flags"`
	VaultID    string `json:"vault_id"` // hex
	Dimension  int    `json:"dimension"`
	Metric     string `json:"metric"`
	Storage    string `json:"storage"`
	Cancelable bool   `json:"cancelable"`
	Generation uint64 `json:"generation"`
	KeyCheck   string `json:"key_check"` // hex
}

// Header returns the plaintext header as of the last commit.
func (v *Vault) Header() (Header, error) {
	var h Header
	err := jsonCall("Vault.Header", v, &h, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_header(v.ptr, out, e)
	})
	return h, err
}

// ReadHeader reads the plaintext header of the vault in path without a key (and without
// taking its lock). ErrNotAVault when path holds no vault, ErrCorrupt for a damaged header.
func ReadHeader(path string) (Header, error) {
	var h Header
	err := jsonCall("ReadHeader", nil, &h, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_read_header(strPtr(path), C.size_t(len(path)), out, e)
	})
	runtime.KeepAlive(path)
	return h, err
}

// ID returns the vault id (32 lower-case hex digits).
func (v *Vault) ID() (string, error) {
	b, err := v.bytes("Vault.ID", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_id(v.ptr, out, e)
	})
	return string(b), err
}

// KeyFingerprint returns the fingerprint of the vault's current key (as Key.Fingerprint).
func (v *Vault) KeyFingerprint() (string, error) {
	b, err := v.bytes("Vault.KeyFingerprint", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_key_fingerprint(v.ptr, out, e)
	})
	return string(b), err
}

// Len returns the number of live templates.
func (v *Vault) Len() (int, error) {
	var n C.uint64_t
	err := statusCall("Vault.Len", v, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_len(v.ptr, &n, e)
	})
	return int(n), err
}

// Contains reports whether id is a live template.
func (v *Vault) Contains(id FacialID) (bool, error) {
	var ok C.bool
	err := statusCall("Vault.Contains", v, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_contains(v.ptr, idPtr(&id), &ok, e)
	})
	return bool(ok), err
}

// FacialIDsPage writes up to len(page) live Facial IDs greater than *after (from the
// first if after is nil), in ascending byte order, into page and returns how many; fewer
// than len(page) only on the last page. Pass the last id of a page as after of the next.
func (v *Vault) FacialIDsPage(after *FacialID, page []FacialID) (int, error) {
	var n C.size_t
	var a FacialID // a copy of *after: the ABI forbids after to overlap page
	var cafter *C.fidex_facial_id
	if after != nil {
		a = *after
		cafter = idPtr(&a)
	}
	var none FacialID
	out := idPtr(&none) // never NULL, even for an empty page
	if len(page) > 0 {
		out = idsPtr(page)
	}
	err := statusCall("Vault.FacialIDsPage", v, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_facial_ids(v.ptr, cafter, out, C.size_t(len(page)), &n, e)
	})
	runtime.KeepAlive(page)
	return int(n), err
}

// FacialIDs returns every live Facial ID in ascending byte order, fetched in pages of
// 4096. ctx is checked between pages. Ids enrolled or deleted meanwhile appear or not
// according to their position, as with any cursor.
func (v *Vault) FacialIDs(ctx context.Context) ([]FacialID, error) {
	const pageSize = 4096
	var all []FacialID
	page := make([]FacialID, pageSize)
	var after *FacialID
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := v.FacialIDsPage(after, page)
		if err != nil {
			return nil, err
		}
		all = append(all, page[:n]...)
		if n < pageSize {
			return all, nil
		}
		after = &all[len(all)-1]
	}
}

// Consent returns the consent receipt stored with id (Kantara JSON, as given at
// enrollment). ErrNotFound if id is not live.
func (v *Vault) Consent(id FacialID) ([]byte, error) {
	return v.bytes("Vault.Consent", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_consent(v.ptr, idPtr(&id), out, e)
	})
}

// Payload returns the payload stored with id (empty if none). ErrNotFound if id is not live.
func (v *Vault) Payload(id FacialID) ([]byte, error) {
	b, err := v.bytes("Vault.Payload", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_payload(v.ptr, idPtr(&id), out, e)
	})
	if err == nil && b == nil {
		b = []byte{}
	}
	return b, err
}

// Stats are a vault's analytics, without biometric data. Times are unix seconds.
type Stats struct {
	Templates          uint64            `json:"templates"`
	Uncommitted        uint64            `json:"uncommitted"`
	EnrollmentsTotal   uint64            `json:"enrollments_total"`
	DeletionsByReason  map[string]uint64 `json:"deletions_by_reason"`
	ConsentsByPurpose  map[string]uint64 `json:"consents_by_purpose"`
	OldestEnrollment   *int64            `json:"oldest_enrollment"` // nil when empty
	NewestEnrollment   *int64            `json:"newest_enrollment"`
	BytesOnDisk        uint64            `json:"bytes_on_disk"`
	TemplateBytes      uint64            `json:"template_bytes"`
	IndexMemoryBytes   uint64            `json:"index_memory_bytes"`
	Segments           uint64            `json:"segments"`
	LogEntries         uint64            `json:"log_entries"`
	Generation         uint64            `json:"generation"`
	Kernel             string            `json:"kernel"`
	Backend            string            `json:"backend"`
	Int8Scale          *float32          `json:"int8_scale"`
	Int8CalibratedRows uint64            `json:"int8_calibrated_rows"`
	ReadOnly           bool              `json:"read_only"`   // opened with OpenOptions.ReadOnly
	StrayFiles         []string          `json:"stray_files"` // files no manifest explains: see RemoveStrayFiles
}

// Stats returns the vault's analytics.
func (v *Vault) Stats() (Stats, error) {
	var s Stats
	err := jsonCall("Vault.Stats", v, &s, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_stats(v.ptr, out, e)
	})
	return s, err
}

// AuditEntries returns the audit-log entries with index in [from, to) as a JSON array (no
// biometric data); pass AuditEnd as to for the end of the log. The range is clamped to
// the log.
func (v *Vault) AuditEntries(from, to uint64) (json.RawMessage, error) {
	return v.bytes("Vault.AuditEntries", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_audit_entries(v.ptr, C.uint64_t(from), C.uint64_t(to), out, e)
	})
}

// SubjectExport is a data subject's access / portability export (GDPR Art. 15/20). Times
// are unix seconds. Raw is the export exactly as the library wrote it, to hand over as is.
type SubjectExport struct {
	VaultID           string            `json:"vault_id"`
	FacialID          FacialID          `json:"facial_id"`
	Consent           json.RawMessage   `json:"consent"`
	PayloadHex        string            `json:"payload_hex"`
	EnrolledAt        int64             `json:"enrolled_at"`
	LastInteraction   int64             `json:"last_interaction"`
	RetentionDeadline int64             `json:"retention_deadline"`
	LogEntries        []json.RawMessage `json:"log_entries"`
	Template          []float32         `json:"template"` // nil unless requested
	Raw               json.RawMessage   `json:"-"`
}

// ExportSubject returns the export of id, with the template (biometric data: send it only
// to the data subject) if withTemplate. The export is itself logged and committed before
// it is returned. ErrNotFound if id is not live.
func (v *Vault) ExportSubject(id FacialID, withTemplate bool) (SubjectExport, error) {
	var x SubjectExport
	mode := C.fidex_export_template(exportWithoutTemplate)
	if withTemplate {
		mode = exportWithTemplate
	}
	data, err := v.bytes("Vault.ExportSubject", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_export_subject(v.ptr, idPtr(&id), mode, out, e)
	})
	if err == nil {
		err = decodeJSON("Vault.ExportSubject", data, &x)
		x.Raw = data
	}
	return x, err
}

// ProcessingRecord returns a record of processing (GDPR Art. 30 spirit: purposes,
// categories, retention, counts, cryptography, key fingerprint, verification key) as JSON.
func (v *Vault) ProcessingRecord() (json.RawMessage, error) {
	return v.bytes("Vault.ProcessingRecord", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_processing_record(v.ptr, out, e)
	})
}

// PendingRemovals returns the names of files that should have been removed but could not
// be yet (retried at each commit).
func (v *Vault) PendingRemovals() ([]string, error) {
	var names []string
	err := jsonCall("Vault.PendingRemovals", v, &names, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_pending_removals(v.ptr, out, e)
	})
	return names, err
}
