"""Device vendors' APIs on 127.0.0.1: one simulator per vendor type, each with its own
payload shape, vocabulary and authentication, fed from canonical events
(:mod:`care_models.synthetic.alert_streams`).

- :mod:`~care_sim.vendors.plug`: smart plugs, API-key header, English event codes;
- :mod:`~care_sim.vendors.gateway`: emergency-safety gateways (응급안전안심), bearer
  token, Korean event codes, epoch-second times and a ``forwarded119`` flag;
- :mod:`~care_sim.vendors.aicall`: AI check-in calls, HTTP basic auth, call results
  with flagged topics, Seoul wall-clock times;
- :mod:`~care_sim.vendors.speaker`: AI speakers, which push an SOS by signed webhook.

The polled three page with a cursor and inject faults
(:class:`~care_sim.vendors.base.VendorFaults`).
"""
