#!/usr/bin/env bash
# Manage the gettext catalogs under locale/ with pybabel.
#   scripts/i18n.sh extract   collect msgids from the code into locale/messages.pot
#   scripts/i18n.sh update    extract, then merge new msgids into locale/{vi,en}/…/messages.po
#   scripts/i18n.sh compile   build the .mo files (optional: the bot compiles .po in memory)
#   scripts/i18n.sh check     fail when a Vietnamese translation is missing or fuzzy
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-pybabel}
KEYWORDS=(-k _ -k N_ -k msg -k ngettext:1,2)
extract() {
  "$PYBABEL" extract -F babel.cfg "${KEYWORDS[@]}" --no-default-keywords --sort-by-file \
    --project dieuphoi --copyright-holder "dieuphoi" -o locale/messages.pot . >/dev/null
}
case "${1:-}" in
  extract) extract ;;
  update)
    extract
    for lang in vi en; do
      po=locale/$lang/LC_MESSAGES/messages.po
      if [ -f "$po" ]; then
        "$PYBABEL" update -i locale/messages.pot -d locale -l "$lang" --no-fuzzy-matching >/dev/null
      else
        "$PYBABEL" init -i locale/messages.pot -d locale -l "$lang" >/dev/null
      fi
    done ;;
  compile) "$PYBABEL" compile -d locale --statistics ;;
  check) python -m bot.i18n_check ;;
  *) echo "usage: $0 extract|update|compile|check" >&2; exit 2 ;;
esac
