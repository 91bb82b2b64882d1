#!/usr/bin/env bash
# Checks that the paths and names written in backticks in docs/architecture.md and
# docs/design/*.md exist in the tree (node_modules, build*, .git and Markdown left out):
#   `dir/file.ext`, `dir/`          the path exists
#   `dir/file.ext: name`            the file exists and contains the word `name`
#   `name()`, `ns::name`, `a_name`  the last word is in some source file
# Prints each missing name with its document; exits 1 if any is missing.
# Usage: scripts/check-doc-names.sh [DOC...]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
docs=("$@")
[ ${#docs[@]} -eq 0 ] && docs=(docs/architecture.md docs/design/*.md)
words=$(mktemp)
trap 'rm -f "$words"' EXIT
# Every word of every source file, once.
grep -rhoIE '[A-Za-z_][A-Za-z0-9_]*' --exclude-dir=node_modules --exclude-dir='build*' \
  --exclude-dir=.git --exclude='*.md' . | sort -u > "$words"
ident='[A-Za-z_][A-Za-z0-9_]*'
path_re='^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$'
missing=0
report() { echo "$1: missing: $2"; missing=$((missing + 1)); }
for doc in "${docs[@]}"; do
  [ -f "$doc" ] || { report "$doc" "(the document itself)"; continue; }
  # Backticked spans (code blocks left out), one per line.
  while IFS= read -r name; do
    if [[ $name =~ ^([^:\ ]+/[^:\ ]*|[^:\ /]+\.[a-z]+):\ ($ident)(\(\))?$ ]]; then
      file=${BASH_REMATCH[1]} fn=${BASH_REMATCH[2]}
      if [ ! -e "$file" ]; then report "$doc" "$name"
      elif ! grep -qw -- "$fn" "$file"; then report "$doc" "$name"; fi
    elif [[ $name == */* && $name =~ $path_re ]]; then
      [ -e "$name" ] || report "$doc" "$name"
    elif [[ $name =~ ^($ident::)*($ident)(\(\))?$ ]]; then
      last=${BASH_REMATCH[2]}
      # Only what looks like code: a call, a qualified name, or a snake_case word.
      if [[ -n ${BASH_REMATCH[3]} || $name == *::* || $last == *_* ]]; then
        grep -qxF -- "$last" "$words" || report "$doc" "$name"
      fi
    fi
  done < <({ awk '/^```/ { code = !code; next } !code' "$doc" | grep -oE '`[^`]+`' | tr -d '`'
             # In code blocks (diagrams): file paths and calls.
             awk '/^```/ { code = !code; next } code' "$doc" |
               grep -oE '[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]*\.(cpp|hpp|ipp|mjs|sh|md)|[A-Za-z_][A-Za-z0-9_:]*\(\)'
           } | sort -u)
done
if [ "$missing" -gt 0 ]; then
  echo "$missing name(s) missing"
  exit 1
fi
echo "all names found (${#docs[@]} documents)"
