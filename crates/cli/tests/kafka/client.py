"""An external Kafka client for hashline's end-to-end tests (confluent-kafka, librdkafka 2.x):
what a platform would run. Commands print JSON.

  produce BROKER TOPIC SPEC       SPEC: JSON list of {"key", "headers": {name: value}, "value_file"}
  consume BROKER TOPIC N TIMEOUT  read N records from the start (own throwaway group)
  offsets BROKER GROUP TOPIC      committed offset and high watermark per partition
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition


def produce(broker, topic, spec_path):
    spec = json.load(open(spec_path))
    p = Producer({"bootstrap.servers": broker, "acks": "all"})
    errors = []

    def done(err, msg):
        if err is not None:
            errors.append(str(err))

    for r in spec:
        value = open(r["value_file"], "rb").read() if r.get("value_file") else b""
        headers = [(k, v.encode()) for k, v in r.get("headers", {}).items()]
        p.produce(topic, value=value, key=r.get("key", "").encode(), headers=headers, on_delivery=done)
        p.poll(0)
    left = p.flush(30)
    print(json.dumps({"produced": len(spec), "unflushed": left, "errors": errors}))
    sys.exit(1 if errors or left else 0)


def consume(broker, topic, n, timeout):
    c = Consumer({"bootstrap.servers": broker, "group.id": "test-reader-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    out, deadline = [], time.time() + float(timeout)
    while len(out) < int(n) and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        out.append({
            "partition": m.partition(), "offset": m.offset(),
            "key": (m.key() or b"").decode(errors="replace"),
            "headers": {k: (v or b"").decode(errors="replace") for k, v in (m.headers() or [])},
            "value": (m.value() or b"").decode(errors="replace") if topic.endswith("matches") else len(m.value() or b""),
        })
    c.close()
    print(json.dumps(out))


def offsets(broker, group, topic):
    c = Consumer({"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=10)
    parts = sorted(md.topics[topic].partitions)
    committed = c.committed([TopicPartition(topic, p) for p in parts], timeout=10)
    out = []
    for tp in committed:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
        out.append({"partition": tp.partition, "committed": tp.offset, "high": hi})
    c.close()
    print(json.dumps(out))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"produce": produce, "consume": consume, "offsets": offsets}[cmd](*args)
