// SPDX-License-Identifier: MIT
// fuzz_replay_test.cpp - the fuzz targets' inputs replayed in the normal g++ build (and so under
// ASan+UBSan in the sanitizer build): the committed seed corpus and every input in
// tests/fuzz/regressions/, through the same entry points and contract checks libFuzzer runs
// (tests/fuzz/*_fuzz.cpp, compiled here with EP_FUZZ_REPLAY). An input that once crashed a target is
// added to tests/fuzz/regressions/<target>/ and fails here until the library rejects it cleanly,
// without clang on the machine.
#define EP_FUZZ_REPLAY 1

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../fuzz/config_fuzz.cpp"
#include "../fuzz/decode_fuzz.cpp"

namespace {

namespace fs = std::filesystem;

// tests/fuzz, found from this file's own path (CMake compiles it by absolute path).
fs::path fuzz_dir() {
    return fs::path(__FILE__).parent_path().parent_path() / "fuzz";
}

// Every file under corpus/<name>/ and regressions/<name>/, sorted so that failures read the same.
std::vector<fs::path> inputs(const std::string &name) {
    std::vector<fs::path> files;
    for (const char *kind : {"corpus", "regressions"}) {
        fs::path dir = fuzz_dir() / kind / name;
        if (fs::is_directory(dir))
            for (const auto &e : fs::directory_iterator(dir))
                if (e.is_regular_file())
                    files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<unsigned char> bytes(const fs::path &p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), {});
}

void replay(const std::string &name, int (*entry)(const unsigned char *, size_t)) {
    auto files = inputs(name);
    ASSERT_FALSE(files.empty()) << "no inputs under " << (fuzz_dir() / "corpus" / name);
    for (const auto &f : files) {
        auto b = bytes(f);
        try {
            entry(b.data(), b.size());
        } catch (const ep_fuzz::ContractBroken &e) {
            ADD_FAILURE() << f << ": " << e.what();
        }
    }
}

TEST(FuzzReplay, DecoderCorpusAndRegressionsKeepTheDecodersContract) {
    replay("decode", ep_fuzz::decode_one);
}

TEST(FuzzReplay, ConfigCorpusAndRegressionsKeepTheParsersContract) {
    replay("config", ep_fuzz::config_one);
}

} // namespace
