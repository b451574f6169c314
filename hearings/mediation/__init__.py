"""Online mediation (人民法院在线调解规则 2021): mediator designation, sessions, proposals, the
agreement e-signed by every party, the mediation statement served electronically."""
