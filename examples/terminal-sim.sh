#!/usr/bin/env bash
# A terminal simulator: the model plays a shell. Each command you type is added to
# the session's history, and lmc asks the model to continue the history up to the
# next "$" prompt, which is the command's "output". The same as LM Studio SDK's
# text-completion example, as a shell script.
#
#   examples/terminal-sim.sh [lmc options...]      e.g. -m qwen2.5-7b-instruct -n 200
#
# LMC names the lmc to run (default: lmc on the PATH). Ctrl-D ends the session.

set -u
lmc=${LMC:-lmc}
history_file=$(mktemp)
reply_file=$(mktemp)
trap 'rm -f "$history_file" "$reply_file"' EXIT

while printf '$ ' && IFS= read -r command; do
  printf '$ %s\n' "$command" >>"$history_file"
  # --raw-stdin: the history is sent byte for byte, its last newline included.
  "$lmc" --raw-stdin --stop '$' --no-stats "$@" <"$history_file" | tee "$reply_file"
  status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ]; then
    echo "terminal-sim: lmc failed with status $status" >&2
    exit "$status"
  fi
  cat "$reply_file" >>"$history_file"
  # The next prompt starts on a line of its own, on the screen and in the history.
  if [ -s "$reply_file" ] && [ -n "$(tail -c 1 "$reply_file")" ]; then
    echo
    echo >>"$history_file"
  fi
done
echo
