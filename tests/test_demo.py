import re

from skfusion import demo


def test_demo_prints_one_table_per_scenario(capsys):
    demo.main(["--rows", "1500", "--folds", "3", "--n-jobs", "1"])
    out = capsys.readouterr().out
    assert "1,500 clothing reviews" in out
    assert out.count("scenario: ") == 2
    for name in ("text only", "tabular only", "late fusion, equal weights", 'late fusion, weights="auto"'):
        assert out.count(name) >= 2
    rows = re.findall(r"^(late fusion[^\d]*?)\s+\*?\s+(\d\.\d{4})\s+(\d\.\d{4})\s+(\d\.\d{4})", out, re.M)
    assert len(rows) == 4
    for _, log_loss, auc, accuracy in rows:
        assert 0 < float(log_loss) < 1 and 0.5 < float(auc) <= 1 and 0.5 < float(accuracy) <= 1
    assert out.count("all finite: True") == 2
