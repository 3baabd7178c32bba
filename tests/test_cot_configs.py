"""The CoT generation configs (config/cot/*.yaml) parse into generate_cot.py's arguments, with generate_cot.py's parser,
with every key kept; a bad key fails parsing."""

from __future__ import annotations

import pytest
from helpers.common import ROOT, read_yaml

COT_YAMLS = sorted((ROOT / "config" / "cot").glob("*.yaml"))


@pytest.mark.parametrize("path", COT_YAMLS, ids=lambda p: p.name)
def test_cot_config_parses_with_every_key_kept(path):
    from generate_cot import CotArguments
    from reasoning_ner.arguments import DataclassParser

    (args,) = DataclassParser(CotArguments).parse_args_and_config(["--config", str(path)])
    for key, value in read_yaml(path).items():
        assert getattr(args, key) == value, key


def test_cot_config_bad_key_fails(tmp_path):
    from generate_cot import CotArguments
    from reasoning_ner.arguments import DataclassParser

    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config" / "cot" / "tiny-cpu.yaml").read_text() + "\nmin_scor: 9\n")
    assert len(COT_YAMLS) == 3
    with pytest.raises(ValueError, match=r"Unknown arguments.*min_scor"):
        DataclassParser(CotArguments).parse_args_and_config(["--config", str(bad)])
