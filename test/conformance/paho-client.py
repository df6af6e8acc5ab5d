"""One Eclipse Paho (python3-paho-mqtt) MQTT 3.1.1 or 5 session, scripted by a JSON spec in argv[1].

Prints one JSON object per line for everything the broker did (connack, suback, published,
message, disconnected, done), so the TypeScript conformance tests can assert on the wire behaviour
of a client nobody on this project wrote. Bounded: every wait has a deadline from the spec.
"""
import json
import os
import ssl
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

spec = json.loads(sys.argv[1])
v5 = spec.get("version") == 5
deadline_s = spec.get("waitMs", 5000) / 1000.0
state = {"connack": None, "subacks": 0, "published": 0, "messages": 0, "closed": False}


def emit(**fields):
    print(json.dumps(fields), flush=True)


def properties(packet_type, fields):
    """A paho Properties object from {"SessionExpiryInterval": 2, "UserProperty": [["k", "v"]], ...}."""
    if not fields:
        return None
    props = Properties(packet_type)
    for name, value in fields.items():
        if name == "UserProperty":
            value = [tuple(pair) for pair in value]
        elif name == "CorrelationData":
            value = value.encode("utf-8")
        setattr(props, name, value)
    return props


def as_json(props):
    if props is None:
        return {}
    fields = props.json()
    return {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for k, v in fields.items()}


def code(rc):
    """paho 1.6 gives MQTT 5 reason codes as ReasonCodes objects and 3.1.1 ones as ints."""
    return getattr(rc, "value", rc)


options = {
    "client_id": spec["clientId"],
    "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    "transport": spec.get("transport", "tcp"),
}
if not v5:
    options["clean_session"] = spec.get("clean", True)
# paho 2.x needs the callback API named; 1.6 (Debian bookworm) has only the one used here.
if hasattr(mqtt, "CallbackAPIVersion"):
    options["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION1
client = mqtt.Client(**options)
if options["transport"] == "websockets":
    client.ws_set_options(path=spec.get("wsPath", "/mqtt"))
if "tls" in spec:
    tls = spec["tls"]
    client.tls_set(ca_certs=tls["caFile"], certfile=tls.get("certFile"), keyfile=tls.get("keyFile"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
if "username" in spec:
    client.username_pw_set(spec["username"], spec.get("password"))
if "will" in spec:
    will = spec["will"]
    client.will_set(will["topic"], will.get("payload", ""), will.get("qos", 0), will.get("retain", False), properties=properties(PacketTypes.WILLMESSAGE, will.get("properties")))


def on_connect(_c, _u, flags, rc, props=None):
    state["connack"] = code(rc)
    fields = {"rc": code(rc), "sessionPresent": int(flags.get("session present", 0))}
    if v5:
        fields["properties"] = as_json(props)
    emit(event="connack", **fields)


def on_subscribe(_c, _u, _mid, granted, _props=None):
    state["subacks"] += 1
    emit(event="suback", granted=[code(g) for g in granted])


def on_publish(_c, _u, mid):
    state["published"] += 1
    emit(event="published", mid=mid)


def on_message(_c, _u, msg):
    state["messages"] += 1
    fields = {"topic": msg.topic, "payload": msg.payload.decode("utf-8", "replace"), "qos": msg.qos, "retain": int(msg.retain)}
    if spec.get("ids"):
        fields.update(mid=msg.mid, dup=int(msg.dup))
    if v5:
        fields["properties"] = as_json(getattr(msg, "properties", None))
    emit(event="message", **fields)
    if spec.get("abortOnMessage"):
        # paho answers PUBACK only after on_message returns: dying here leaves the message
        # unacknowledged and the connection dropped without DISCONNECT, as a crashed device would.
        os._exit(0)


def on_disconnect(_c, _u, rc, _props=None):
    state["closed"] = True
    emit(event="disconnected", rc=code(rc))


client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_publish = on_publish
client.on_message = on_message
client.on_disconnect = on_disconnect
if spec.get("log"):
    client.on_log = lambda _c, _u, _level, text: emit(event="log", text=text)


def pump(until, seconds):
    end = time.monotonic() + seconds
    while not until() and not state["closed"] and time.monotonic() < end:
        client.loop(timeout=0.05)
    return until()


if v5:
    client.connect(spec["host"], spec["port"], keepalive=spec.get("keepalive", 60), clean_start=spec.get("clean", True), properties=properties(PacketTypes.CONNECT, spec.get("connectProperties")))
else:
    client.connect(spec["host"], spec["port"], keepalive=spec.get("keepalive", 60))
pump(lambda: state["connack"] is not None, deadline_s)
if state["connack"] != 0:
    # [MQTT-3.2.2-5]: after a refusing CONNACK the server closes the connection; wait to see it.
    pump(lambda: False, deadline_s)
elif spec.get("silent"):
    # Sends nothing more, not even PINGREQ, so the server's keepalive timer must fire.
    time.sleep(deadline_s)
    pump(lambda: False, 0.5)
else:
    subscriptions = [(s[0], SubscribeOptions(qos=s[1]) if v5 else s[1]) for s in spec.get("subscribe", [])]
    if subscriptions:
        client.subscribe(subscriptions, properties=properties(PacketTypes.SUBSCRIBE, spec.get("subscribeProperties")))
        pump(lambda: state["subacks"] > 0, deadline_s)
    publishes = spec.get("publish", [])
    for p in publishes:
        if "payloadBytes" in p:
            p["payload"] = "z" * p["payloadBytes"]
        if v5:
            client.publish(p["topic"], p.get("payload", ""), p.get("qos", 0), p.get("retain", False), properties=properties(PacketTypes.PUBLISH, p.get("properties")))
        else:
            client.publish(p["topic"], p.get("payload", ""), p.get("qos", 0), p.get("retain", False))
    pump(lambda: state["published"] >= len(publishes), deadline_s)
    pump(lambda: state["messages"] >= spec.get("expect", 0), deadline_s)
    if spec.get("holdMs"):
        pump(lambda: False, spec["holdMs"] / 1000.0)
    if spec.get("noDisconnect"):
        # Ends like a crashed device: no DISCONNECT, so the will (after its delay) is the server's to send.
        os._exit(0)
    if not state["closed"]:
        client.disconnect()
        pump(lambda: False, 0.5)
emit(event="done", closed=state["closed"])
