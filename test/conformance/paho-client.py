"""One Eclipse Paho (python3-paho-mqtt) MQTT 3.1.1 session, scripted by a JSON spec in argv[1].

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

spec = json.loads(sys.argv[1])
deadline_s = spec.get("waitMs", 5000) / 1000.0
state = {"connack": None, "subacks": 0, "published": 0, "messages": 0, "closed": False}


def emit(**fields):
    print(json.dumps(fields), flush=True)


options = {
    "client_id": spec["clientId"],
    "clean_session": spec.get("clean", True),
    "protocol": mqtt.MQTTv311,
    "transport": spec.get("transport", "tcp"),
}
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
    client.will_set(will["topic"], will.get("payload", ""), will.get("qos", 0), will.get("retain", False))


def on_connect(_c, _u, flags, rc):
    state["connack"] = rc
    emit(event="connack", rc=rc, sessionPresent=int(flags.get("session present", 0)))


def on_subscribe(_c, _u, _mid, granted):
    state["subacks"] += 1
    emit(event="suback", granted=list(granted))


def on_publish(_c, _u, mid):
    state["published"] += 1
    emit(event="published", mid=mid)


def on_message(_c, _u, msg):
    state["messages"] += 1
    fields = {"topic": msg.topic, "payload": msg.payload.decode("utf-8", "replace"), "qos": msg.qos, "retain": int(msg.retain)}
    if spec.get("ids"):
        fields.update(mid=msg.mid, dup=int(msg.dup))
    emit(event="message", **fields)
    if spec.get("abortOnMessage"):
        # paho answers PUBACK only after on_message returns: dying here leaves the message
        # unacknowledged and the connection dropped without DISCONNECT, as a crashed device would.
        os._exit(0)


def on_disconnect(_c, _u, rc):
    state["closed"] = True
    emit(event="disconnected", rc=rc)


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
    subscriptions = [(s[0], s[1]) for s in spec.get("subscribe", [])]
    if subscriptions:
        client.subscribe(subscriptions)
        pump(lambda: state["subacks"] > 0, deadline_s)
    publishes = spec.get("publish", [])
    for p in publishes:
        client.publish(p["topic"], p.get("payload", ""), p.get("qos", 0), p.get("retain", False))
    pump(lambda: state["published"] >= len(publishes), deadline_s)
    pump(lambda: state["messages"] >= spec.get("expect", 0), deadline_s)
    if spec.get("holdMs"):
        pump(lambda: False, spec["holdMs"] / 1000.0)
    if not state["closed"]:
        client.disconnect()
        pump(lambda: False, 0.5)
emit(event="done", closed=state["closed"])
