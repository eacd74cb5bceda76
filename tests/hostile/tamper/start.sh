#!/usr/bin/env bash
# Hostile: tampers with the hidden test run every way it can think of, then serves /health only.
# Every file here (conftest.py, pytest.ini, tox.ini, setup.cfg, pyproject.toml, sitecustomize.py,
# usercustomize.py, tamper.pth, test_items.py, bin/python, bin/pytest) would make every test pass
# if it took part in the harness's pytest run.
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
real_python="$(command -v python3)"
# user site-packages, and any site-packages it can write to
for site in $("$real_python" -c 'import site, sys; print(site.getusersitepackages(), *sys.path)'); do
    case "$site" in *-packages) ;; *) continue ;; esac
    mkdir -p "$site" 2>/dev/null
    cp sitecustomize.py usercustomize.py tamper.pth tamper_plugin.py "$site"/ 2>/dev/null \
        && echo "tamper: wrote into $site"
done
for dir in /tmp /var/tmp "$HOME"; do
    cp -r conftest.py pytest.ini tox.ini setup.cfg pyproject.toml tamper_plugin.py "$dir"/ 2>/dev/null
done
export PATH="$here/bin:$PATH"
export PYTHONPATH="$here"
export PYTEST_PLUGINS=tamper_plugin
export PYTEST_ADDOPTS="-p tamper_plugin"
echo "tamper: python is now $(command -v python), pytest is $(command -v pytest)"
exec "$real_python" stub_server.py
