// SPDX-License-Identifier: MIT
// fs_test.cpp - cwd and root: where the exec'ed probe finds itself.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "fixture.hpp"

using namespace ep_test;

namespace {

class Cwd : public MatrixTest {};
class Root : public MatrixTest {
  protected:
    // tmp/tree: a root with a statically linked probe at /probe, /marker and /sub.
    void SetUp() override {
        MatrixTest::SetUp();
        if (IsSkipped())
            return;
        tree = tmp.dir("tree");
        tmp.dir("tree/sub");
        tmp.file("tree/marker", "inside the root\n");
        std::error_code ec;
        std::filesystem::copy_file(EP_PROBE_STATIC_PATH, tree + "/probe", ec);
        ASSERT_FALSE(ec) << ec.message();
        ASSERT_EQ(chmod((tree + "/probe").c_str(), 0755), 0);
    }
    std::string tree;
};

std::string cwd_of_test() {
    char buf[4096];
    return getcwd(buf, sizeof buf) ? buf : "?";
}

TEST_P(Cwd, DefaultIsTheCallers) {
    Spawn s(GetParam());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], cwd_of_test());
}

TEST_P(Cwd, ByAbsolutePath) {
    std::string sub = tmp.dir("sub");
    Spawn s(GetParam());
    ASSERT_EQ(s.path("cwd", sub), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], sub);
}

TEST_P(Cwd, ByPathRelativeToDirfd) {
    std::string sub = tmp.dir("sub");
    Fd dir(::open(tmp.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.path("cwd", "sub", dir.get()), ok());
    dir.reset();
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], sub);
}

TEST_P(Cwd, ByFd) {
    std::string sub = tmp.dir("sub");
    Fd dir(::open(sub.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.pass("cwd", dir.get()), ok());
    dir.reset();
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], sub);
    EXPECT_EQ(out["fds"], "1"); // the directory descriptor itself is not left open
}

TEST_P(Cwd, ByPathEmptyOnTheDirfdItself) {
    std::string sub = tmp.dir("sub");
    Fd dir(::open(sub.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.path_empty("cwd", "", dir.get()), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], sub);
}

TEST_P(Cwd, ByPathEmptyWithARelativePath) {
    std::string deeper = tmp.dir("sub");
    deeper = tmp.dir("sub/deeper");
    Fd dir(::open((tmp / "sub").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.path_empty("cwd", "deeper", dir.get()), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], deeper);
}

TEST_P(Cwd, ByString) {
    std::string sub = tmp.dir("sub");
    Spawn s(GetParam());
    ASSERT_EQ(s.str("cwd", sub), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], sub);
}

TEST_P(Cwd, LaterRelativeOpsResolveInTheNewCwd) {
    std::string sub = tmp.dir("sub");
    tmp.file("sub/here", "found relative to the new cwd\n");
    Spawn s(GetParam());
    ASSERT_EQ(s.path("cwd", sub), ok());
    ASSERT_EQ(s.path("open.3", "here"), ok());
    auto out = s.run({"print", "read", "3"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["read"], "found relative to the new cwd");
    EXPECT_EQ(parse_fd_line(out["fd.3"]).target, sub + "/here");
}

TEST_P(Root, ChrootIntoATree) {
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.path("root", tree), ok());
    ASSERT_EQ(s.path("open.3", "/marker"), ok()); // resolved inside the new root
    ASSERT_EQ(s.args({"print", "read", "3"}), ok());
    ASSERT_EQ(s.path("exec", "/probe"), ok()); // so is the program
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["read"], "inside the root");
    EXPECT_EQ(out["cwd"], "/");
    EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
}

TEST_P(Root, ChrootRelativeToDirfd) {
    Fd dir(::open(tmp.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.path("root", "tree", dir.get()), ok());
    ASSERT_EQ(s.path("open.3", "/marker"), ok());
    ASSERT_EQ(s.args({"print", "read", "3"}), ok());
    ASSERT_EQ(s.path("exec", "/probe"), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["read"], "inside the root");
    EXPECT_EQ(out["cwd"], "/");
}

TEST_P(Root, CwdAfterRootIsInsideTheRoot) {
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.path("root", tree), ok());
    ASSERT_EQ(s.path("cwd", "/sub"), ok());
    ASSERT_EQ(s.path("open.3", "../marker"), ok());
    ASSERT_EQ(s.args({"print", "read", "3"}), ok());
    ASSERT_EQ(s.path("exec", "/probe"), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], "/sub");
    EXPECT_EQ(out["read"], "inside the root");
}

TEST_P(Root, ProgramOutsideTheRootIsNotFound) {
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.path("root", tree), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.exec_probe(), ok()); // the dynamic probe's absolute path does not exist in the tree
    auto out = s.finish();
    EXPECT_EQ(out.exec, fails(ENOENT));
    EXPECT_TRUE(has_message(out.log, "e exec: ")) << joined(out.log);
    EXPECT_EQ(out.raw, "");
}

TEST_P(Root, SlashKeepsTheRootAndMovesCwdToIt) {
    Spawn s(GetParam());
    ASSERT_EQ(s.path("root", "/"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["root"], "/");
    EXPECT_EQ(out["cwd"], "/");
}

EP_INSTANTIATE_MATRIX(Conformance, Cwd);
EP_INSTANTIATE_MATRIX(Conformance, Root);

} // namespace
