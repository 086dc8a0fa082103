"""Escaping and splitting of outgoing HTML."""

from __future__ import annotations

from bot.text import Html, escape, html_format, split_message, visible_length


def test_data_is_escaped_and_markup_is_kept():
    text = html_format("<b>{name}</b> — {agency}", name="Bộ <Tài> & Chính", agency=Html("<i>x</i>"))
    assert text == "<b>Bộ &lt;Tài&gt; &amp; Chính</b> — <i>x</i>"
    assert escape("Lê Thị Ánh") == "Lê Thị Ánh"


def test_long_texts_split_at_line_boundaries_and_fit():
    lines = [f"<b>Dòng {i}</b> Nguyễn &amp; cộng sự" for i in range(1000)]
    parts = split_message("\n".join(lines))
    assert len(parts) > 1
    assert all(visible_length(p) <= 4096 for p in parts)
    assert "\n".join(parts).split("\n") == lines  # nothing lost, nothing cut


def test_a_single_huge_line_is_cut_without_breaking_entities():
    line = "&amp;" * 5000
    parts = split_message(line)
    assert all(visible_length(p) <= 4096 for p in parts)
    assert "".join(parts) == line


def test_length_counts_utf16_units_like_telegram():
    assert visible_length("😀") == 2
    assert visible_length("<b>Ánh</b>") == 3
