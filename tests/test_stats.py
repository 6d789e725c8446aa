import pytest

from analysis.stats import compute_clopper_pearson, format_pct


# Reference values of the exact (Clopper-Pearson) 95% interval, as tabulated
# e.g. by R binom.test(x, n)$conf.int.
@pytest.mark.parametrize("x,n,lcl,ucl", [
    (0, 3, 0.0, 0.7075982),
    (1, 6, 0.004210745, 0.6412346),
    (3, 3, 0.2924018, 1.0),
    (2, 10, 0.02521073, 0.5560955),
    (1, 1, 0.025, 1.0),
])
def test_clopper_pearson_matches_reference(x, n, lcl, ucl):
    p = compute_clopper_pearson(x, n)
    assert p.estimate == pytest.approx(x / n)
    assert p.lcl == pytest.approx(lcl, abs=1e-6)
    assert p.ucl == pytest.approx(ucl, abs=1e-6)


def test_empty_denominator_gives_no_estimate():
    p = compute_clopper_pearson(0, 0)
    assert (p.estimate, p.lcl, p.ucl) == (None, None, None)


def test_impossible_counts_refused():
    with pytest.raises(ValueError):
        compute_clopper_pearson(4, 3)


def test_format_pct_one_decimal():
    assert format_pct(1 / 6) == "16.7"
    assert format_pct(None) == ""
