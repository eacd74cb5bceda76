"""Peers: servers the harness runs on a sample's loopback for the submission to talk to.

`python -I -m backbench.peers.serve --spec FILE` runs the peers a scenario declares (an HTTP
sink, an SMTP inbox, a programmable upstream API), each with a token-protected admin API that
the hidden tests read through `backbench.testkit.peers`. The package needs only the standard
library and aiosmtpd, so it runs in the harness's own Python inside any sandbox.
"""

from backbench.peers.kinds import DECLARED_ENV, PEER_KINDS, TOKEN_ENV, PeerKind, unknown_peers

__all__ = ["DECLARED_ENV", "PEER_KINDS", "TOKEN_ENV", "PeerKind", "unknown_peers"]
