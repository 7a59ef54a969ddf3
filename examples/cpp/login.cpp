// login.cpp — the face-login flow of examples/c/login.c with the C++17 RAII wrappers of
// include/fidex.hpp: no manual frees, errors as fidex::Error exceptions with a code.
//
// Build:  c++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude examples/cpp/login.cpp
//           -Ltarget/release -lfidex -o login_cpp
#include "fidex.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kDim = 128;

// Seeded "identity-clustered" synthetic faces.
struct Faces {
    std::mt19937_64 rng{42};
    std::normal_distribution<float> gauss{0.0f, 1.0f};

    static std::vector<float> normalised(std::vector<float> v) {
        double n = 0;
        for (float x : v) n += static_cast<double>(x) * x;
        n = std::sqrt(n);
        for (float &x : v) x = static_cast<float>(x / n);
        return v;
    }
    std::vector<float> identity() {
        std::vector<float> v(kDim);
        for (float &x : v) x = gauss(rng);
        return normalised(v);
    }
    std::vector<float> capture(const std::vector<float> &centre) {
        std::vector<float> v(centre);
        for (float &x : v) x += 0.5f / std::sqrt(static_cast<float>(kDim)) * gauss(rng);
        return normalised(v);
    }
};

void expect(bool ok, const char *what) {
    if (!ok) {
        std::cerr << "expectation failed: " << what << "\n";
        std::exit(1);
    }
}

}  // namespace

int main() {
    namespace fs = std::filesystem;
    std::string tmpl = (fs::temp_directory_path() / "fidex-login-cpp-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) {
        std::perror("mkdtemp");
        return 1;
    }
    const fs::path dir(buf.data());
    int rc = 1;
    try {
        Faces faces;
        std::cout << "fidex " << fidex::version() << "\n";
        const fidex::Key key = fidex::Key::generate();
        const fidex::Vault vault = fidex::Vault::create((dir / "vault").string(), key, R"({"dimension": 128})");
        const std::string vk = vault.verification_key();

        const auto consent = [](const char *subject) {
            return fidex::consent_explicit_json(subject, "Acme Corp", "https://acme.example/privacy",
                                                R"(["authentication", "identification"])",
                                                static_cast<std::int64_t>(std::time(nullptr)) - 60);
        };
        const auto alice = faces.identity();
        const auto bob = faces.identity();
        const fidex::Enrollment a = vault.enroll(faces.capture(alice), consent("alice"), "user-alice");
        const fidex::Enrollment b = vault.enroll(faces.capture(bob), consent("bob"), "user-bob");
        vault.commit();
        expect(fidex::verify_receipt(vault.enrollment_receipt(a.id), vk) == fidex::ReceiptKind::Enrollment,
               "enrollment receipt verifies");
        std::cout << "enrolled alice as " << fidex::to_string(a.id) << "\n";

        const auto hits = vault.identify(faces.capture(alice), 3, "identification");
        expect(!hits.empty() && hits[0].facial_id == a.id, "alice identified");
        expect(vault.verify(a.id, faces.capture(alice), "authentication").matched, "alice verified");
        expect(!vault.verify(a.id, faces.capture(bob), "authentication").matched, "bob is not alice");
        expect(vault.payload(b.id) == "user-bob", "payload round-trips");
        const auto login = vault.identify_with_payloads(faces.capture(bob), 1, "identification");
        expect(login.size() == 1 && login[0].id == b.id && login[0].payload == "user-bob", "login in one call");

        // Bulk enrollment: all or nothing; a refused item is named by Error::item().
        const auto carol = faces.identity(), dave = faces.identity();
        std::vector<float> two = faces.capture(carol);
        const auto d_capture = faces.capture(dave);
        two.insert(two.end(), d_capture.begin(), d_capture.end());
        try {
            vault.enroll_many(two, {consent("carol"), "{}"});
            expect(false, "a malformed consent must refuse the batch");
        } catch (const fidex::Error &e) {
            expect(e.item() == 1 && e.code() == FIDEX_INVALID_CONSENT, "the refused item is named");
            expect(vault.size() == 2, "nothing of the refused batch was enrolled");
        }
        const auto bulk = vault.enroll_many(two, {consent("carol"), consent("dave")}, {"user-carol", "user-dave"});
        expect(bulk.size() == 2 && vault.payload(bulk[1]) == "user-dave" && vault.uncommitted() == 2, "bulk enrollment");
        vault.remove_many(bulk, fidex::DeletionReason::Admin);
        expect(vault.facial_ids().size() == 2, "paged Facial IDs");
        const auto batch = vault.identify_batch([&] {
            auto p = faces.capture(bob);
            auto q = faces.capture(alice);
            p.insert(p.end(), q.begin(), q.end());
            return p;
        }(), 2, 1, "identification");
        expect(batch.size() == 2 && batch[0].at(0).facial_id == b.id && batch[1].at(0).facial_id == a.id, "batch");

        // Errors are exceptions with the fidex_status code.
        try {
            auto nan_probe = faces.capture(alice);
            nan_probe[3] = std::nanf("");
            vault.identify(nan_probe, 1, "identification");
            expect(false, "NaN probe must throw");
        } catch (const fidex::Error &e) {
            expect(e.code() == FIDEX_NON_FINITE_VALUE, "NaN gives FIDEX_NON_FINITE_VALUE");
            std::cout << "NaN probe refused: " << e.what() << "\n";
        }

        const std::string receipt = vault.remove(a.id, fidex::DeletionReason::SubjectRequest);
        expect(fidex::verify_receipt(receipt, vk) == fidex::ReceiptKind::Deletion, "deletion receipt verifies");
        std::string tampered = receipt;
        tampered.replace(tampered.find("subject_request"), 15, "admin");
        try {
            fidex::verify_receipt(tampered, vk);
            expect(false, "tampered receipt must be rejected");
        } catch (const fidex::Error &e) {
            expect(e.code() == FIDEX_VERIFICATION_FAILED, "tampered receipt gives FIDEX_VERIFICATION_FAILED");
            std::cout << "tampered receipt rejected\n";
        }
        expect(!vault.contains(a.id) && vault.size() == 1, "alice is gone");

        vault.close();
        try {
            vault.size();
            expect(false, "use after close must throw");
        } catch (const fidex::Error &e) {
            expect(e.code() == FIDEX_CLOSED, "use after close gives FIDEX_CLOSED");
        }
        // Reopen with the key exported as text.
        const fidex::Key again = fidex::Key::import_text(key.export_text());
        const fidex::Vault reopened = fidex::Vault::open((dir / "vault").string(), again);
        expect(reopened.size() == 1, "reopened vault holds bob");
        std::cout << "login (C++) example: OK\n";
        rc = 0;
    } catch (const fidex::Error &e) {
        std::cerr << "fidex error " << e.code() << ": " << e.what() << "\n";
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return rc;
}
