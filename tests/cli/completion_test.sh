#!/bin/bash
# The bash completion of h5tx (tools/h5tx/cmd_completion.cpp): sources the
# script the build generated (build/completion/h5tx, the file that is
# installed) and checks COMPREPLY as bash would fill it on <TAB>; also that
# it is what `h5tx completion bash` prints.
# usage: completion_test.sh H5TX_BINARY COMPLETION_FILE
set -u
h5tx=$1
script=$2
fail=0
cmp -s "$script" <("$h5tx" completion bash) || { echo "FAIL: $script differs from 'h5tx completion bash'"; fail=1; }
# shellcheck disable=SC1090
source "$script"
complete -p h5tx >/dev/null || { echo "FAIL: no completion registered for h5tx"; exit 1; }

# complete WORD...: COMPREPLY for the command line "WORD... <TAB>" (the last
# word is the one being completed).
complete_line() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _h5tx h5tx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() {
  local want=$1
  shift
  local got
  got=$(complete_line "$@")
  if [ "$got" = "$want" ]; then
    echo "ok: '$*<TAB>' -> $got"
  else
    echo "FAIL: '$*<TAB>': expected '$want', got '$got'"
    fail=1
  fi
}

expect "ingest init" h5tx in
expect "--chunk" h5tx ingest --ch
expect "--no-checksum --no-resume" h5tx ingest /s vol.h5:/a --no-
expect "--mode" h5tx init /s --mo
expect "redo undo" h5tx init /s --mode ""
expect "u16 u32 u64 u8" h5tx create-dataset /s v.h5:/a --dtype u
expect "delete get list set" h5tx attr ""
expect "get" h5tx attr g
expect "list" h5tx attr l
expect "" h5tx attr get /s   # HOME: file names (readline's default)
expect "" h5tx ingest /s vol.h5:/a --from ""
expect "bash" h5tx completion b
# Every command of `h5tx --help` is offered after "h5tx ".
for c in $("$h5tx" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF {print $1}'); do
  [[ " $(complete_line h5tx "") " == *" $c "* ]] || { echo "FAIL: command $c not completed"; fail=1; }
done
# Every option of `h5tx ingest --help` is offered after "h5tx ingest --".
for o in $("$h5tx" ingest --help | grep -o '^  --[a-z-]*'); do
  [[ " $(complete_line h5tx ingest --) " == *" $o "* ]] || { echo "FAIL: ingest option $o not completed"; fail=1; }
done
exit $fail
