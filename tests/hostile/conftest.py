"""Keep pytest out of the hostile submissions: they are data, and tamper/ holds a conftest.py,
a pytest.ini and more that would mark every test passed if pytest ever loaded them."""

collect_ignore_glob = ["*"]
