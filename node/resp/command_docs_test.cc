#include "node/resp/command_docs.h"

#include <string>

#include "absl/strings/ascii.h"
#include "common/commands/command_table.h"
#include "gtest/gtest.h"

namespace slotcache::node::resp {
namespace {

TEST(CommandDocsTest, EveryKeyspaceCommandIsDocumented) {
  for (const CommandSpec& spec : AllCommands()) {
    const CommandDoc* doc = FindCommandDoc(spec.name);
    ASSERT_NE(doc, nullptr)
        << spec.name << " has no COMMAND DOCS entry: add it to "
        << "node/resp/command_docs.cc";
    EXPECT_EQ(doc->name, absl::AsciiStrToLower(spec.name));
    EXPECT_FALSE(doc->summary.empty()) << spec.name;
    EXPECT_FALSE(doc->since.empty()) << spec.name;
    // A command with keys documents them as key arguments.
    if (spec.first_key >= 0) {
      ASSERT_FALSE(doc->arguments.empty()) << spec.name;
      const ArgDoc& first = doc->arguments[0];
      EXPECT_TRUE(first.type == "key" ||
                  (first.type == "block" && first.arguments[0].type == "key"))
          << spec.name;
    }
  }
}

TEST(CommandDocsTest, EveryServerCommandIsDocumented) {
  for (const char* name : {"HELLO", "CLIENT", "COMMAND", "INFO", "CONFIG",
                           "SELECT", "QUIT", "RESET", "ECHO", "READONLY",
                           "READWRITE", "ASKING", "WAIT", "TIME", "CLUSTER"}) {
    EXPECT_NE(FindCommandDoc(name), nullptr) << name;
  }
  EXPECT_EQ(FindCommandDoc("nosuchcommand"), nullptr);
}

TEST(CommandDocsTest, EncodesLikeRedis) {
  std::string out;
  ReplyWriter writer(&out, 2);
  WriteCommandDoc(*FindCommandDoc("get"), &writer);
  const std::string summary = FindCommandDoc("get")->summary;
  EXPECT_EQ(out, "*10\r\n$7\r\nsummary\r\n$" + std::to_string(summary.size()) +
                     "\r\n" + summary +
                     "\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n"
                     "$5\r\ngroup\r\n$6\r\nstring\r\n"
                     "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"
                     "$9\r\narguments\r\n*1\r\n*6\r\n"
                     "$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n"
                     "$14\r\nkey_spec_index\r\n:0\r\n");
}

}  // namespace
}  // namespace slotcache::node::resp
