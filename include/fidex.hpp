// fidex.hpp — C++17 header-only RAII wrappers over the fidex C ABI (fidex.h).
//
// Every handle is owned by a std::unique_ptr with the matching fidex_*_free deleter, so
// nothing leaks on any path; every failing call throws fidex::Error, which carries the
// fidex_status code and the detailed message of the failure. Thread safety is that of the
// C ABI: a Vault may be used from many threads at once (Vault::close included); moving or
// destroying it must not race with other use.
//
// SPDX-License-Identifier: Apache-2.0
#ifndef FIDEX_HPP
#define FIDEX_HPP

#include "fidex.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

/// Facial IDs compare by value (declared at global scope, the namespace of the C type, so
/// argument-dependent lookup finds them).
inline bool operator==(const fidex_facial_id &a, const fidex_facial_id &b) noexcept {
    for (int i = 0; i < 16; ++i)
        if (a.bytes[i] != b.bytes[i]) return false;
    return true;
}
inline bool operator!=(const fidex_facial_id &a, const fidex_facial_id &b) noexcept { return !(a == b); }

namespace fidex {

/// A failed fidex call: code() is the fidex_status (FIDEX_NOT_FOUND, ...), what() the
/// static description followed by the detailed message of that very call; item() the
/// refused item of a batch call (-1 otherwise).
class Error : public std::runtime_error {
public:
    Error(fidex_status code, const std::string &message, std::int64_t item = -1)
        : std::runtime_error(message), code_(code), item_(item) {}
    fidex_status code() const noexcept { return code_; }
    std::int64_t item() const noexcept { return item_; }

private:
    fidex_status code_;
    std::int64_t item_;
};

namespace detail {

struct BytesDeleter {
    void operator()(fidex_bytes *b) const noexcept { fidex_bytes_free(b); }
};
struct KeyDeleter {
    void operator()(fidex_key *k) const noexcept { fidex_key_free(k); }
};
struct VaultDeleter {
    void operator()(fidex_vault *v) const noexcept { fidex_vault_free(v); }
};
struct ErrorDeleter {
    void operator()(fidex_error *e) const noexcept { fidex_error_free(e); }
};
using BytesPtr = std::unique_ptr<fidex_bytes, BytesDeleter>;
using ErrorPtr = std::unique_ptr<fidex_error, ErrorDeleter>;

/// Takes ownership of a fidex_bytes and copies it into a std::string.
inline std::string take(fidex_bytes *raw) {
    BytesPtr b(raw);
    return std::string(reinterpret_cast<const char *>(fidex_bytes_data(b.get())), fidex_bytes_len(b.get()));
}

/// Runs `f(&error)` (a fidex call whose last parameter is `fidex_error **`) and throws
/// fidex::Error with that call's own code and message if it failed.
template <typename F>
void call(F &&f) {
    fidex_error *raw = nullptr;
    fidex_status st = f(&raw);
    ErrorPtr err(raw);
    if (st == FIDEX_OK) return;
    std::string message = fidex_status_message(st);
    std::string detail = fidex_error_message(err.get());
    if (!detail.empty()) message += ": " + detail;
    throw Error(st, message, fidex_error_item(err.get()));
}

/// Calls `f(&out, &error)` for a fidex_bytes out-parameter and returns its contents.
template <typename F>
std::string text(F &&f) {
    fidex_bytes *out = nullptr;
    call([&](fidex_error **e) { return f(&out, e); });
    return take(out);
}

}  // namespace detail

/// A Facial ID (16 bytes; comparable; text form via to_string / parse_facial_id).
using FacialId = fidex_facial_id;

inline std::string to_string(const FacialId &id) {
    char buf[FIDEX_FACIAL_ID_TEXT_LEN + 1];
    detail::call([&](fidex_error **e) { return fidex_facial_id_to_text(&id, buf, sizeof buf, e); });
    return std::string(buf, FIDEX_FACIAL_ID_TEXT_LEN);
}

inline FacialId parse_facial_id(std::string_view text) {
    FacialId id{};
    detail::call([&](fidex_error **e) { return fidex_facial_id_parse(text.data(), text.size(), &id, e); });
    return id;
}

/// Library version string ("0.2.0").
inline std::string version() { return fidex_version(); }

/// Why a template is deleted.
enum class DeletionReason : fidex_deletion_reason {
    SubjectRequest = FIDEX_DELETION_SUBJECT_REQUEST,
    ConsentWithdrawn = FIDEX_DELETION_CONSENT_WITHDRAWN,
    RetentionExpired = FIDEX_DELETION_RETENTION_EXPIRED,
    Admin = FIDEX_DELETION_ADMIN,
};

/// The kind of a verified receipt.
enum class ReceiptKind : fidex_receipt_kind {
    Deletion = FIDEX_RECEIPT_DELETION,
    Enrollment = FIDEX_RECEIPT_ENROLLMENT,
};

/// A vault key (secret). Move-only.
class Key {
public:
    static Key generate() {
        fidex_key *k = nullptr;
        detail::call([&](fidex_error **e) { return fidex_key_generate(&k, e); });
        return Key(k);
    }
    static Key import_text(std::string_view text) {
        fidex_key *k = nullptr;
        detail::call([&](fidex_error **e) { return fidex_key_import_text(text.data(), text.size(), &k, e); });
        return Key(k);
    }
    /// The secret as one line of text: store it like a password.
    std::string export_text() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_key_export_text(p_.get(), o, e); });
    }
    std::string fingerprint() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_key_fingerprint(p_.get(), o, e); });
    }
    const fidex_key *get() const noexcept { return p_.get(); }

private:
    explicit Key(fidex_key *k) : p_(k) {}
    std::unique_ptr<fidex_key, detail::KeyDeleter> p_;
};

/// What enroll returns. The receipt is available from enrollment_receipt() after commit().
struct Enrollment {
    FacialId id;
};

/// A match with its payload (identify_with_payloads).
struct MatchWithPayload {
    FacialId id;
    float score;
    std::string payload;
};

/// A vault handle. Move-only; the destructor frees it: uncommitted enrollments are
/// discarded unless commit() or close() ran (uncommitted() tells how many).
class Vault {
public:
    /// `config_json`: e.g. R"({"dimension": 512})" (see fidex_vault_create).
    static Vault create(std::string_view path, const Key &key, std::string_view config_json) {
        fidex_vault *v = nullptr;
        detail::call([&](fidex_error **e) {
            return fidex_vault_create(path.data(), path.size(), key.get(), config_json.data(), config_json.size(), &v, e);
        });
        return Vault(v);
    }
    static Vault open(std::string_view path, const Key &key) {
        fidex_vault *v = nullptr;
        detail::call([&](fidex_error **e) { return fidex_vault_open(path.data(), path.size(), key.get(), &v, e); });
        return Vault(v);
    }
    /// The plaintext header of a vault on disk, without a key (JSON).
    static std::string read_header(std::string_view path) {
        return detail::text(
            [&](fidex_bytes **o, fidex_error **e) { return fidex_vault_read_header(path.data(), path.size(), o, e); });
    }

    Enrollment enroll(const std::vector<float> &templ, std::string_view consent_json, std::string_view payload = {}) const {
        Enrollment en{};
        detail::call([&](fidex_error **e) {
            return fidex_vault_enroll(p_.get(), templ.data(), templ.size(), consent_json.data(), consent_json.size(),
                                      reinterpret_cast<const uint8_t *>(payload.data()), payload.size(), &en.id, e);
        });
        return en;
    }

    /// Enrolls `consents.size()` templates at once (`templates` is n × dimension floats),
    /// all or nothing; on failure Error::item() is the refused item.
    std::vector<FacialId> enroll_many(const std::vector<float> &templates, const std::vector<std::string> &consents,
                                      const std::vector<std::string> &payloads = {}) const {
        std::string all_consents, all_payloads;
        std::vector<std::size_t> consent_offsets{0}, payload_offsets;
        for (const auto &c : consents) consent_offsets.push_back((all_consents += c).size());
        if (!payloads.empty()) {
            payload_offsets.push_back(0);
            for (const auto &p : payloads) payload_offsets.push_back((all_payloads += p).size());
        }
        std::vector<FacialId> ids(consents.size());
        detail::call([&](fidex_error **e) {
            return fidex_vault_enroll_many(p_.get(), templates.data(), templates.size(), all_consents.data(),
                                           all_consents.size(), consent_offsets.data(), consent_offsets.size(),
                                           reinterpret_cast<const uint8_t *>(all_payloads.data()), all_payloads.size(),
                                           payload_offsets.data(), payload_offsets.size(), ids.data(), ids.size(), e);
        });
        return ids;
    }

    /// The vault purposes a consent receipt covers (JSON array), or throws the error
    /// enroll would give.
    std::string check_consent(std::string_view consent_json) const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) {
            return fidex_vault_check_consent(p_.get(), consent_json.data(), consent_json.size(), o, e);
        });
    }

    /// The enrollment receipt of a committed enrollment (canonical JSON text).
    std::string enrollment_receipt(const FacialId &id) const {
        return detail::text(
            [&](fidex_bytes **o, fidex_error **e) { return fidex_vault_enrollment_receipt(p_.get(), &id, o, e); });
    }

    /// 1:N identification; `threshold` empty = the vault's default.
    std::vector<fidex_match> identify(const std::vector<float> &probe, std::size_t k, std::string_view purpose,
                                      std::optional<float> threshold = std::nullopt) const {
        std::vector<fidex_match> out(k);
        std::size_t n = 0;
        detail::call([&](fidex_error **e) {
            return fidex_vault_identify(p_.get(), probe.data(), probe.size(), k, mode(threshold), threshold.value_or(0.0f),
                                        purpose.data(), purpose.size(), FIDEX_PAYLOADS_NONE, out.data(), out.size(), &n,
                                        nullptr, e);
        });
        out.resize(n);
        return out;
    }

    /// 1:N identification returning each match's payload too (one call for a login).
    std::vector<MatchWithPayload> identify_with_payloads(const std::vector<float> &probe, std::size_t k,
                                                         std::string_view purpose,
                                                         std::optional<float> threshold = std::nullopt) const {
        std::vector<fidex_match> found(k);
        std::size_t n = 0;
        fidex_bytes *raw = nullptr;
        detail::call([&](fidex_error **e) {
            return fidex_vault_identify(p_.get(), probe.data(), probe.size(), k, mode(threshold), threshold.value_or(0.0f),
                                        purpose.data(), purpose.size(), FIDEX_PAYLOADS_INCLUDE, found.data(), found.size(),
                                        &n, &raw, e);
        });
        std::string all = detail::take(raw);
        std::vector<MatchWithPayload> out;
        for (std::size_t i = 0; i < n; ++i)
            out.push_back({found[i].facial_id, found[i].score, all.substr(found[i].payload_offset, found[i].payload_len)});
        return out;
    }

    /// Batch identification: `probes` is n × dimension floats; one result vector per probe.
    std::vector<std::vector<fidex_match>> identify_batch(const std::vector<float> &probes, std::size_t n, std::size_t k,
                                                         std::string_view purpose,
                                                         std::optional<float> threshold = std::nullopt) const {
        std::vector<fidex_match> flat(n * k);
        std::vector<std::size_t> counts(n);
        detail::call([&](fidex_error **e) {
            return fidex_vault_identify_batch(p_.get(), probes.data(), probes.size(), k, mode(threshold),
                                              threshold.value_or(0.0f), purpose.data(), purpose.size(), FIDEX_PAYLOADS_NONE,
                                              flat.data(), flat.size(), counts.data(), counts.size(), nullptr, e);
        });
        std::vector<std::vector<fidex_match>> out(n);
        for (std::size_t i = 0; i < n; ++i)
            out[i].assign(flat.begin() + static_cast<std::ptrdiff_t>(i * k),
                          flat.begin() + static_cast<std::ptrdiff_t>(i * k + counts[i]));
        return out;
    }

    /// 1:1 verification.
    fidex_verification verify(const FacialId &id, const std::vector<float> &probe, std::string_view purpose,
                              std::optional<float> threshold = std::nullopt) const {
        fidex_verification r{};
        detail::call([&](fidex_error **e) {
            return fidex_vault_verify(p_.get(), &id, probe.data(), probe.size(), mode(threshold), threshold.value_or(0.0f),
                                      purpose.data(), purpose.size(), &r, e);
        });
        return r;
    }

    /// Deletes and returns the deletion receipt text (`delete` is a C++ keyword).
    std::string remove(const FacialId &id, DeletionReason reason = DeletionReason::SubjectRequest) const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) {
            return fidex_vault_delete(p_.get(), &id, static_cast<fidex_deletion_reason>(reason), o, e);
        });
    }
    /// JSON array of receipt texts.
    std::string remove_many(const std::vector<FacialId> &ids, DeletionReason reason) const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) {
            return fidex_vault_delete_many(p_.get(), ids.data(), ids.size(), static_cast<fidex_deletion_reason>(reason), o, e);
        });
    }
    std::string withdraw_consent(const FacialId &id) const {
        return detail::text(
            [&](fidex_bytes **o, fidex_error **e) { return fidex_vault_withdraw_consent(p_.get(), &id, o, e); });
    }
    /// JSON array of receipt texts; `now` empty = the vault's clock.
    std::string purge_expired(std::optional<std::int64_t> now = std::nullopt) const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) {
            return fidex_vault_purge_expired(p_.get(), now ? FIDEX_CLOCK_FIXED : FIDEX_CLOCK_DEFAULT, now.value_or(0), o, e);
        });
    }

    std::string commit() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_commit(p_.get(), o, e); });
    }
    std::string compact() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_compact(p_.get(), o, e); });
    }
    /// Commits and closes; later calls throw Error with code FIDEX_CLOSED.
    void close() const {
        detail::call([&](fidex_error **e) { return fidex_vault_close(p_.get(), e); });
    }
    void check_integrity() const {
        detail::call([&](fidex_error **e) { return fidex_vault_check(p_.get(), e); });
    }
    void rotate_key(const Key &new_key) const {
        detail::call([&](fidex_error **e) { return fidex_vault_rotate_key(p_.get(), new_key.get(), e); });
    }

    std::uint64_t size() const {
        std::uint64_t n = 0;
        detail::call([&](fidex_error **e) { return fidex_vault_len(p_.get(), &n, e); });
        return n;
    }
    /// Enrollments the destructor would discard now (not committed yet).
    std::uint64_t uncommitted() const {
        std::uint64_t n = 0;
        detail::call([&](fidex_error **e) { return fidex_vault_uncommitted(p_.get(), &n, e); });
        return n;
    }
    bool contains(const FacialId &id) const {
        bool yes = false;
        detail::call([&](fidex_error **e) { return fidex_vault_contains(p_.get(), &id, &yes, e); });
        return yes;
    }
    /// Every live Facial ID, ascending (paged internally, 4096 at a time).
    std::vector<FacialId> facial_ids() const {
        std::vector<FacialId> all;
        std::vector<FacialId> page(4096);
        std::size_t n = 0;
        do {
            const FacialId *after = all.empty() ? nullptr : &all.back();
            detail::call([&](fidex_error **e) {
                return fidex_vault_facial_ids(p_.get(), after, page.data(), page.size(), &n, e);
            });
            all.insert(all.end(), page.begin(), page.begin() + static_cast<std::ptrdiff_t>(n));
        } while (n == page.size());
        return all;
    }
    std::string consent(const FacialId &id) const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_consent(p_.get(), &id, o, e); });
    }
    std::string payload(const FacialId &id) const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_payload(p_.get(), &id, o, e); });
    }
    std::string verification_key() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_verification_key(p_.get(), o, e); });
    }
    std::string previous_verification_keys() const {
        return detail::text(
            [&](fidex_bytes **o, fidex_error **e) { return fidex_vault_previous_verification_keys(p_.get(), o, e); });
    }
    std::string key_fingerprint() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_key_fingerprint(p_.get(), o, e); });
    }
    std::string id() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_id(p_.get(), o, e); });
    }
    std::string config() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_config(p_.get(), o, e); });
    }
    std::string header() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_header(p_.get(), o, e); });
    }
    std::string stats() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_stats(p_.get(), o, e); });
    }
    std::string audit_entries(std::uint64_t from = 0, std::uint64_t to = FIDEX_AUDIT_END) const {
        return detail::text(
            [&](fidex_bytes **o, fidex_error **e) { return fidex_vault_audit_entries(p_.get(), from, to, o, e); });
    }
    std::string export_subject(const FacialId &id, bool include_template) const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) {
            return fidex_vault_export_subject(
                p_.get(), &id, include_template ? FIDEX_EXPORT_WITH_TEMPLATE : FIDEX_EXPORT_WITHOUT_TEMPLATE, o, e);
        });
    }
    std::string processing_record() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_processing_record(p_.get(), o, e); });
    }
    std::string tree_head() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_tree_head(p_.get(), o, e); });
    }
    std::string consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) {
            return fidex_vault_consistency_proof(p_.get(), old_size, new_size, o, e);
        });
    }
    std::string pending_removals() const {
        return detail::text([&](fidex_bytes **o, fidex_error **e) { return fidex_vault_pending_removals(p_.get(), o, e); });
    }

    /// The underlying handle, for calls this wrapper does not cover.
    const fidex_vault *get() const noexcept { return p_.get(); }

private:
    explicit Vault(fidex_vault *v) : p_(v) {}
    static fidex_threshold_mode mode(const std::optional<float> &t) noexcept {
        return t ? FIDEX_THRESHOLD_EXPLICIT : FIDEX_THRESHOLD_VAULT_DEFAULT;
    }
    std::unique_ptr<fidex_vault, detail::VaultDeleter> p_;
};

/// Verifies a receipt offline with a published verification key; throws on failure.
inline ReceiptKind verify_receipt(std::string_view receipt_json, std::string_view verification_key) {
    fidex_receipt_kind kind = 0;
    detail::call([&](fidex_error **e) {
        return fidex_receipt_verify(receipt_json.data(), receipt_json.size(), verification_key.data(),
                                    verification_key.size(), &kind, e);
    });
    return static_cast<ReceiptKind>(kind);
}

/// Checks that tree head `newer` extends `older`; throws on failure.
inline void verify_consistency(std::string_view older, std::string_view newer, std::string_view proof_json,
                               std::string_view verification_key) {
    detail::call([&](fidex_error **e) {
        return fidex_verify_consistency(older.data(), older.size(), newer.data(), newer.size(), proof_json.data(),
                                        proof_json.size(), verification_key.data(), verification_key.size(), e);
    });
}

/// A minimal explicit-consent receipt (Kantara JSON); `purposes_json` e.g. R"(["authentication"])".
inline std::string consent_explicit_json(std::string_view subject, std::string_view controller, std::string_view policy_url,
                                         std::string_view purposes_json, std::int64_t consent_timestamp) {
    return detail::text([&](fidex_bytes **o, fidex_error **e) {
        return fidex_consent_explicit_json(subject.data(), subject.size(), controller.data(), controller.size(),
                                           policy_url.data(), policy_url.size(), purposes_json.data(), purposes_json.size(),
                                           consent_timestamp, o, e);
    });
}

/// The vault purposes a consent receipt covers (JSON array) for a vault serving
/// `purposes_json`, at the system clock; throws the error enrollment would give.
inline std::string consent_validate(std::string_view consent_json, std::string_view purposes_json) {
    return detail::text([&](fidex_bytes **o, fidex_error **e) {
        return fidex_consent_validate(consent_json.data(), consent_json.size(), purposes_json.data(), purposes_json.size(),
                                      FIDEX_CLOCK_DEFAULT, 0, o, e);
    });
}

}  // namespace fidex

#endif  // FIDEX_HPP
