"""A rule pack with its own grade and category labels mapped to canonical ids, shared by the API and UI tests.

Its labels (好, 差, 抱怨) are not the built-in packs', so a test sees a call's canonical id (fail, complaint)
come from ``label_ids`` and not from a label the engine already knows.
"""

from __future__ import annotations

#: The pack's id, as ``PUT /teams/{team}/pack`` names it.
LABELLED_PACK_ID = "acme-zh"

#: 差 is ``fail`` (a call without 芝麻开门 scores 0), and every call's category, 抱怨, is ``complaint``.
LABELLED_PACK = f"""\
pack: {LABELLED_PACK_ID}
version: 1
language: zh
grades: {{好: 80, 差: 0}}
label_ids: {{好: good, 差: fail, 抱怨: complaint}}
rules:
  - id: says_magic
    type: phrase_in_window
    summary: 坐席说出口令
    weight: 10
    role: agent
    window: {{anchor: whole_call}}
    match: {{phrases: [芝麻开门]}}
  - id: category
    type: classify
    summary: 类别
    target: category
    default: 抱怨
    classes:
      - label: 表扬
        match: {{phrases: [太好了]}}
"""
