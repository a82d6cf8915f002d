// The reliability ledger: torture tests record, per guarantee of DESIGN.md,
// how many crash states, kills, injected errors and bad inputs they tried
// and how many violated the guarantee. tools/reliability_summary.py prints
// the table (ctest runs it last as reliability:summary).
#pragma once

#include <cstdint>
#include <string>

namespace h5tx_test {

enum class Trial { CrashState, Kill, InjectedError, BadInput };

// Appends one line "<scenario>\t<guarantee>\t<trial>\t<tried>\t<violations>"
// to $H5TX_LEDGER, or <build>/reliability/ledger.tsv.
void ledger_record(const std::string& scenario, int guarantee, Trial trial, uint64_t tried,
                   uint64_t violations);

// Scales loop bounds: H5TX_TORTURE_SCALE (default 1) multiplies rounds;
// returns max(1, base * scale).
uint64_t torture_scale(uint64_t base);

}  // namespace h5tx_test
