// The subcommands of the h5tx tool: each is a CommandSpec (usage, options,
// --help text) and a function that runs it and returns the exit status
// (0 ok, 1 problem found; UsageError means 2, any h5tx::Error 1).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "args.hpp"
#include "h5tx/env.hpp"
#include "h5tx/store.hpp"

namespace h5tx {
namespace cli {

struct Command {
  CommandSpec spec;
  int (*run)(const Args& args);
};

// Every command, in the order `h5tx --help` lists them.
std::vector<Command> all_commands();

// Per-area command lists (cmd_*.cpp).
std::vector<Command> store_commands();       // init create-dataset ls log get flush recover stats
std::vector<Command> ingest_commands();      // ingest demo
std::vector<Command> check_commands();       // check dump
std::vector<Command> export_commands();      // export
std::vector<Command> undo_commands();        // undo-recover
std::vector<Command> attr_commands();        // attr
std::vector<Command> backup_commands();      // backup restore replicate promote
std::vector<Command> completion_commands();  // completion
std::vector<Command> history_commands();     // history pack

// --at TXID of the reading commands, and the read-only transaction options
// it gives (as_of set when given).
OptionSpec at_option();
TxOptions read_tx_options(const Args& args);

// The bash completion script `h5tx completion bash` prints, generated from
// all_commands().
std::string bash_completion_script();

// An attribute's value as ls prints it: "text", f64 1.5, i16 [1, -2, 3].
std::string attribute_value_text(const AttributeValue& v);
// One little-endian element of dtype t as text (full precision).
void append_element_text(DType t, const uint8_t* p, std::string* out);

// The --lock-timeout option every store command takes.
OptionSpec lock_timeout_option();
// --json: one JSON value on stdout instead of text (docs/cli-json.md).
OptionSpec json_option();
// Opens the store HOME = args.positional[0] (read-only where the command
// only reads) with the --lock-timeout of `args`.
std::unique_ptr<Store> open_store(const Args& args, bool read_only);

// A journal/working_<txid>_temp directory: a spare one made ahead of the
// commits (nothing but an empty MANIFEST: no transaction), or an unfinished
// transaction, with the bytes it holds. Reads only sizes.
struct TempDirKind {
  bool spare = false;
  uint64_t bytes = 0;
};
TempDirKind classify_temp_dir(Env& env, const std::string& dir);

// The groups and datasets a file's sorted dataset paths imply (h5tx makes
// groups only as parents of datasets), sorted, without "/": the objects
// that may carry attributes besides the root group.
std::vector<std::string> objects_of(const std::vector<std::string>& datasets);

}  // namespace cli
}  // namespace h5tx
