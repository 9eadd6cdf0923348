"""Text primitives: one definition of a word, a name, a hash for dedupe and cluster alike."""

from __future__ import annotations

import pytest

from pipeline import text


def test_normalize_unifies_quotes_dashes_spaces_and_case() -> None:
    assert text.normalize("“Hello”\u00a0 World — it’s  HERE") == '"hello" world - it\'s here'


def test_tokenize_keeps_model_names_and_drops_possessives() -> None:
    tokens = text.tokenize("OpenAI's GPT-4o beats Llama 3.1 in the U.S. (AT&T test).")
    assert tokens == [
        "openai",
        "gpt-4o",
        "beats",
        "llama",
        "3.1",
        "in",
        "the",
        "u.s",
        "at&t",
        "test",
    ]


def test_stem_folds_inflections_but_not_names_or_numbers() -> None:
    assert {text.stem(w) for w in ("files", "filed", "filing", "file")} == {"fil"}
    assert text.stem("checked") == text.stem("checks") == "check"
    assert text.stem("gpt-4o") == "gpt-4o"
    assert text.stem("2024") == "2024"


def test_terms_drop_stopwords() -> None:
    assert text.terms("The lab says it has released a new model") == ["lab", "releas", "model"]


def test_names_finds_people_models_and_numbers_with_units() -> None:
    found = text.names(
        "Fed's Charles Plosser spoke. Anthropic released Claude 3 Opus while OpenAI shipped "
        "GPT-4o; a 6.1 magnitude quake hit and $19 billion moved."
    )
    assert "charl_plosser" in found  # the possessor is not glued to the name
    assert "claud_3_opus" in found
    assert "gpt-4o" in found
    assert "6.1_magnitude" in found
    assert "19_billion" in found
    assert not any(n.startswith("fed_") for n in found)


def test_names_ignores_capitals_of_title_case_headlines() -> None:
    assert text.names("Lindsay Lohan Checks Into Betty Ford Center Again") == []
    assert text.names("Lindsay Lohan checks into the Betty Ford Center") == [
        "lindsay_lohan",
        "betty_ford_center",
    ]


def test_prior_idf_ranks_rare_words_above_common_ones() -> None:
    assert text.prior_idf("the") < text.prior_idf("earthquake") < text.prior_idf("titanfall")
    assert text.prior_idf("zorblaxian") == max(text.prior_idf(w) for w in ("the", "zorblaxian"))
    # A stem is looked up through its common inflections, so it is not mistaken for a rare word.
    assert abs(text.prior_idf(text.stem("causes")) - text.prior_idf("cause")) < 0.01


def test_shingles_cover_short_texts() -> None:
    assert text.shingles(["a", "b", "c", "d", "e"], 4) == {"a b c d", "b c d e"}
    assert text.shingles(["a", "b"], 4) == {"a b"}
    assert text.shingles([], 4) == set()


def test_content_hash_ignores_formatting_but_not_words() -> None:
    one = text.content_hash(["Title", "Body “quoted”  text."])
    assert one == text.content_hash(["title", 'Body "quoted" text'])
    assert one != text.content_hash(["Title", "Body quoted text changed"])
    assert one != text.content_hash(["Title Body", "quoted text"])  # fields stay apart


def test_entities_are_names_and_capitalised_words_inside_sentences() -> None:
    found = text.entities(
        "Wladimir Klitschko stopped Hasim Rahman in the seventh round in Mannheim. "
        "Police said the 6.1 magnitude quake was felt. The crowd cheered."
    )
    assert {"wladimir_klitschko", "hasim_rahman", "rahman", "mannheim", "6.1_magnitude"} <= set(
        found
    )
    # Words that open a sentence are capitalised by grammar, not because they are names.
    assert not {"police", "the", "wladimir"} & set(found)
    accented = set(text.entities("A goal by Müller, then one by Émile."))
    assert {text.terms("Müller")[0], text.terms("Émile")[0]} <= accented


def test_numbers_are_figures_as_stated_without_thousands_separators() -> None:
    found = text.numbers(
        "The navy captured 26 pirates and 1,000 rounds on Dec. 13, 2008; a 6.1 quake, "
        "12.5% more, GPT-4o and the 26th attempt."
    )
    # Digits inside a name or an ordinal are not figures; a date's parts are.
    assert found == ["26", "1000", "13", "2008", "6.1", "12.5"]
    assert text.numbers("No figures here.") == []


def test_numbers_leave_identifiers_whole() -> None:
    """A paper id with a version states no figure: two papers of one month share "2412"."""
    assert text.numbers("Cite as arXiv:2412.12542v1 [cs.CL], v2.1b, 3.5x") == []
    assert text.numbers("It rose 14% in 2024. Then 9 more.") == ["14", "2024", "9"]


@pytest.mark.parametrize(
    ("title", "roundup"),
    [
        ("Morning briefing: Mt. Gox files for bankruptcy; Titanfall reviews roll in", True),
        ("AI news roundup: Gemini 2.0, Sora and Veo 2", True),
        ("Import AI 395: AI and energy demand; distributed training via DeMo", True),
        ("Business Highlights", True),
        ("This week in AI | open models catch up", True),
        ("Pichai at SXSW: millions of Chromecasts sold, wearables SDK in two weeks", False),
        ("Google, Samsung partner on smartwatch software", False),
        ("Briefly noted: nothing", False),
    ],
)
def test_is_roundup(title: str, roundup: bool) -> None:
    assert text.is_roundup(title) is roundup


def test_spellings_map_stemmed_and_folded_features_back_to_written_words() -> None:
    texts = [
        "Claude 3 Opus faked alignment. Models trained on 1,000 prompts; the model card says so.",
        "Anthropic's Claude scored 14% with GPT-4o as judge; Meta's 405B model did not.",
    ]
    name = "_".join(text.stem(w.lower()) for w in ("Claude", "3", "Opus"))
    unit = "405_b"
    assert unit in text.names(texts[1])
    keys = {"claud", "model", "1000", "anthropic", "gpt", unit, "14_%", "never"}
    spelled = text.spellings(texts, keys)
    assert spelled["claud"] == "Claude" and name.split("_")[0] == "claud"
    assert spelled["model"] == "model"  # "Models" opens a sentence; the tie goes to lower case
    assert spelled["1000"] == "1,000" and spelled[unit] == "405B" and spelled["14_%"] == "14%"
    assert spelled["anthropic"] == "Anthropic"  # the possessive dropped
    assert spelled["gpt"] == "GPT"  # read inside "GPT-4o", as entities reads it
    assert "never" not in spelled
