# shellcheck shell=sh
# journal-lib.sh is sourced by detached crimig jobs. It appends JSON lines to
# $CRIMIG_JOURNAL so that a later exec pod can tell how far a job got.

# --- json escaper: keep identical in every script that has it ---
# json_awk is an awk program that prints its input as one JSON string literal.
# With -v lines=1 it prints a JSON array holding one string per input line.
# With -v nl=1 it appends the newline that the last input line ended with.
# It walks characters instead of using gsub because awks disagree about
# backslashes in gsub replacements.
# shellcheck disable=SC2016 # awk program, expanded by awk not sh
json_awk='
BEGIN {
  ORS = ""
  for (i = 1; i < 32; i++) { c = sprintf("%c", i); esc[c] = sprintf("\\u%04x", i); ctl = ctl c }
  esc["\t"] = "\\t"; esc["\n"] = "\\n"; esc["\r"] = "\\r"
  esc["\\"] = "\\\\"; esc["\""] = "\\\""
  ctlre = "[" ctl "]"
  if (lines) printf "["; else printf "\""
}
function quote(s,   out, n, j, ch) {
  if (!index(s, "\\") && !index(s, "\"") && s !~ ctlre) return s
  out = ""; n = length(s)
  for (j = 1; j <= n; j++) { ch = substr(s, j, 1); out = out ((ch in esc) ? esc[ch] : ch) }
  return out
}
{
  if (lines) { printf "%s\"%s\"", (NR > 1 ? "," : ""), quote($0) }
  else { printf "%s%s", (NR > 1 ? "\\n" : ""), quote($0) }
}
END {
  if (lines) { printf "]"; exit }
  if (nl && NR > 0) printf "\\n"
  printf "\""
}'

# json_str prints its argument as a JSON string literal.
json_str() {
  printf '%s\n' "$1" | awk -v lines=0 -v nl=0 "$json_awk"
}
# --- end of json escaper ---

# crimig_redact prints its argument with the user-info of every URL masked,
# as pkg/redact does, so that no password reaches the journal.
crimig_redact() {
  printf '%s\n' "$1" | sed 's#://[^/[:space:]]*@#://<redacted>@#g'
}

# crimig_journal STEP PHASE [MESSAGE] appends one entry to the job's journal.
crimig_journal() {
  printf '{"time":"%s","job":%s,"step":%s,"phase":%s,"message":%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(json_str "${CRIMIG_JOB:-}")" \
    "$(json_str "$1")" "$(json_str "$2")" "$(json_str "$(crimig_redact "${3:-}")")" >>"$CRIMIG_JOURNAL"
}

# crimig_journal_exit CODE records how the job ended.
crimig_journal_exit() {
  printf '{"time":"%s","job":%s,"phase":"exited","exitCode":%d}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(json_str "${CRIMIG_JOB:-}")" "$1" >>"$CRIMIG_JOURNAL"
}
