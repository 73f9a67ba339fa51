// One measurement per process, one JSON line on stdout, the interface of `nomq bench mqtt`:
//
//   java -cp ... dev.nomq.bench.BenchKt CLIENT MODE QOS COUNT PORT
//
// CLIENT: nomq-kotlin (the uniffi bindings, one `publish` per message), nomq-kotlin-batch
//         (`publishBatch` of 100 messages, 10 batches outstanding), or paho-java (Eclipse Paho
//         1.2.5, MqttAsyncClient). `nomq-kotlin calls 0 N PORT` prints the cost of single calls
//         across the FFI instead.
// MODE:   throughput (a publisher and a subscriber; messages/s from the first publish to the
//         last message received) or rtt (publish, then the message back, one at a time).
// Each measurement follows an unreported pass of the same work (JIT warm-up). Both clients: MQTT 3.1.1, clean session, 64-byte payloads, 100 QoS 1/2 publishes in flight
// (the broker allows 1000), in-memory session state (Paho's MemoryPersistence; its default
// writes every QoS 1/2 message to files). Paho cannot queue past its in-flight window
// (publish throws), so its publisher waits for a place; nomq's keeps 1000 publishes
// outstanding and its outbox queues what does not fit in flight.
package dev.nomq.bench

import dev.nomq.MqttClient
import dev.nomq.MqttOptions
import dev.nomq.MqttReconnect
import dev.nomq.core.Qos
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.sync.Semaphore
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.eclipse.paho.client.mqttv3.IMqttActionListener
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken
import org.eclipse.paho.client.mqttv3.IMqttToken
import org.eclipse.paho.client.mqttv3.MqttAsyncClient
import org.eclipse.paho.client.mqttv3.MqttCallback
import org.eclipse.paho.client.mqttv3.MqttConnectOptions
import org.eclipse.paho.client.mqttv3.MqttMessage
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlin.system.exitProcess

const val INFLIGHT = 100
const val WINDOW = 1000
const val SIZE = 64
val PAYLOAD = ByteArray(SIZE) { 'x'.code.toByte() }
val ID = ProcessHandle.current().pid()

fun main(args: Array<String>) {
    if (args.size != 5) {
        System.err.println("usage: Bench nomq-kotlin|paho-java throughput|rtt QOS COUNT PORT")
        exitProcess(2)
    }
    val (client, mode) = args
    val qos = args[2].toInt()
    val count = args[3].toInt()
    val port = args[4].toInt()
    val measure = { measure(client, mode, qos, count, port) }
    // The JVM compiles while it runs: one pass of the same work first, not reported, so both
    // clients are measured warm (BENCH_WARMUP=0 measures a cold JVM).
    if (System.getenv("BENCH_WARMUP") != "0" && mode != "calls") measure()
    println(measure())
    exitProcess(0)
}

fun measure(client: String, mode: String, qos: Int, count: Int, port: Int): String =
    when ("$client $mode") {
        "nomq-kotlin throughput" -> nomqThroughput(port, qos, count)
        "nomq-kotlin-batch throughput" -> nomqBatchThroughput(port, qos, count)
        "nomq-kotlin rtt" -> nomqRtt(port, qos, count)
        "paho-java throughput" -> pahoThroughput(port, qos, count)
        "paho-java rtt" -> pahoRtt(port, qos, count)
        "nomq-kotlin calls" -> calls(port, count)
        else -> error("unknown client or mode: $client $mode")
    }

fun throughputLine(received: Int, startNs: Long, lastNs: Long): String {
    val s = (lastNs - startNs) / 1e9
    return """{"msgs_per_s": ${Math.round(received / s)}, "received": $received, "elapsed_s": $s}"""
}

fun rttLine(samplesUs: List<Double>): String {
    val sorted = samplesUs.sorted()
    fun pct(p: Double) = Math.round(sorted[Math.round((sorted.size - 1) * p).toInt()])
    return """{"p50_us": ${pct(0.5)}, "p99_us": ${pct(0.99)}, "samples": ${sorted.size}}"""
}

// ---- nomq through the Kotlin bindings

fun nomqOptions(port: Int, role: String) = MqttOptions(
    host = "127.0.0.1",
    port = port.toUShort(),
    clientId = "kt-bench-$ID-$role",
    reconnect = MqttReconnect(enabled = false),
    maxInflight = INFLIGHT.toUShort(),
    maxOutboxMessages = (2 * WINDOW).toUInt(),
)

fun nomqQos(q: Int) = Qos.entries[q]

/**
 * A publisher and a subscriber on one topic: `send` publishes `count` messages (in a coroutine
 * of its own) while this receives them; messages/s from the start to the last one received.
 */
fun nomqThroughputOf(
    port: Int,
    qos: Qos,
    count: Int,
    send: suspend kotlinx.coroutines.CoroutineScope.(pub: MqttClient, topic: String) -> Unit,
): String = runBlocking {
    val topic = "kt-bench/$ID/tp"
    val sub = MqttClient.connect(nomqOptions(port, "sub"))
    sub.subscribe(topic, qos)
    val pub = MqttClient.connect(nomqOptions(port, "pub"))
    val start = System.nanoTime()
    val sender = launch { send(pub, topic) }
    var received = 0
    var last = start
    withTimeoutOrNull(120_000) { // a run that loses messages reports what arrived, as Paho's does
        while (received < count) {
            val batch = sub.recvMany(1024u)
            if (batch.isEmpty()) break
            received += batch.size
            last = System.nanoTime()
        }
    }
    sender.join()
    pub.disconnect()
    sub.disconnect()
    throughputLine(received, start, last)
}

/** One `publish` per message, WINDOW outstanding, each a coroutine awaiting its outcome. */
fun nomqThroughput(port: Int, q: Int, count: Int): String {
    val qos = nomqQos(q)
    val failed = AtomicInteger()
    val line = nomqThroughputOf(port, qos, count) { pub, topic ->
        val window = Semaphore(WINDOW)
        repeat(count) {
            window.acquire()
            launch {
                try {
                    pub.publish(topic, PAYLOAD, qos, false)
                } catch (e: Exception) {
                    failed.incrementAndGet()
                } finally {
                    window.release()
                }
            }
        }
    }
    if (failed.get() > 0) System.err.println("nomq-kotlin: ${failed.get()} publishes failed")
    return line
}

// Messages per publishBatch (BENCH_BATCH overrides); WINDOW / BATCH batches outstanding.
val BATCH = System.getenv("BENCH_BATCH")?.toInt() ?: 100

/** `publishBatch` of BATCH messages, WINDOW messages outstanding. */
fun nomqBatchThroughput(port: Int, q: Int, count: Int): String {
    val qos = nomqQos(q)
    return nomqThroughputOf(port, qos, count) { pub, topic ->
        val window = Semaphore(WINDOW / BATCH)
        val message = dev.nomq.MqttMessage(topic, PAYLOAD, qos, false)
        var sent = 0
        while (sent < count) {
            val n = minOf(BATCH, count - sent)
            sent += n
            window.acquire()
            launch {
                try {
                    pub.publishBatch(List(n) { message })
                } finally {
                    window.release()
                }
            }
        }
    }
}

fun nomqRtt(port: Int, q: Int, count: Int): String = runBlocking {
    val qos = nomqQos(q)
    val topic = "kt-bench/$ID/rtt"
    val c = MqttClient.connect(nomqOptions(port, "rtt"))
    c.subscribe(topic, qos)
    val warmup = (count / 10).coerceIn(10, 1000)
    val samples = ArrayList<Double>(count)
    repeat(warmup + count) { i ->
        // Publish to message back; with QoS 1 the publish resolves on PUBACK, which mosquitto
        // sends before it forwards the message, so this is one round trip and a half.
        val t = System.nanoTime()
        val done = launch { c.publish(topic, PAYLOAD, qos, false) }
        withTimeout(5_000) { c.recv() }
        if (i >= warmup) samples += (System.nanoTime() - t) / 1e3
        done.join()
    }
    c.disconnect()
    rttLine(samples)
}

// ---- Eclipse Paho Java 1.2.5

fun pahoClient(port: Int, role: String, callback: MqttCallback?): MqttAsyncClient {
    val c = MqttAsyncClient("tcp://127.0.0.1:$port", "paho-bench-$ID-$role", MemoryPersistence())
    if (callback != null) c.setCallback(callback)
    val o = MqttConnectOptions()
    o.isCleanSession = true
    o.maxInflight = INFLIGHT
    o.isAutomaticReconnect = false
    c.connect(o).waitForCompletion(10_000)
    return c
}

abstract class OnMessage : MqttCallback {
    override fun connectionLost(cause: Throwable?) {}
    override fun deliveryComplete(token: IMqttDeliveryToken?) {}
}

fun pahoThroughput(port: Int, qos: Int, count: Int): String {
    val topic = "paho-bench/$ID/tp"
    val received = AtomicInteger()
    val last = AtomicLong()
    val all = CountDownLatch(1)
    val sub = pahoClient(port, "sub", object : OnMessage() {
        override fun messageArrived(topic: String?, message: MqttMessage?) {
            last.set(System.nanoTime())
            if (received.incrementAndGet() == count) all.countDown()
        }
    })
    sub.subscribe(topic, qos).waitForCompletion(10_000)
    val pub = pahoClient(port, "pub", null)
    val inflight = java.util.concurrent.Semaphore(INFLIGHT)
    val done = object : IMqttActionListener {
        override fun onSuccess(token: IMqttToken?) = inflight.release()
        override fun onFailure(token: IMqttToken?, e: Throwable?) = inflight.release()
    }
    val start = System.nanoTime()
    repeat(count) {
        inflight.acquire()
        pub.publish(topic, PAYLOAD, qos, false, null, done)
    }
    all.await(120, TimeUnit.SECONDS)
    pub.disconnect().waitForCompletion(10_000)
    sub.disconnect().waitForCompletion(10_000)
    pub.close()
    sub.close()
    return throughputLine(received.get(), start, last.get())
}

fun pahoRtt(port: Int, qos: Int, count: Int): String {
    val topic = "paho-bench/$ID/rtt"
    val back = LinkedBlockingQueue<Long>()
    val c = pahoClient(port, "rtt", object : OnMessage() {
        override fun messageArrived(topic: String?, message: MqttMessage?) {
            back.put(System.nanoTime())
        }
    })
    c.subscribe(topic, qos).waitForCompletion(10_000)
    val warmup = (count / 10).coerceIn(10, 1000)
    val samples = ArrayList<Double>(count)
    repeat(warmup + count) { i ->
        val t = System.nanoTime()
        val token = c.publish(topic, PAYLOAD, qos, false)
        val arrived = back.poll(5, TimeUnit.SECONDS) ?: error("message did not come back")
        if (i >= warmup) samples += (arrived - t) / 1e3
        token.waitForCompletion(5_000)
    }
    c.disconnect().waitForCompletion(10_000)
    c.close()
    return rttLine(samples)
}

fun calls(port: Int, count: Int): String = runBlocking {
    fun time(what: String, f: () -> Unit) {
        repeat(count) { f() }
        val t = System.nanoTime()
        repeat(count) { f() }
        System.err.println("%-28s %8.2f us".format(what, (System.nanoTime() - t) / 1e3 / count))
    }
    time("nomqVersion()") { dev.nomq.nomqVersion() }
    time("v1ChannelId(x)") { dev.nomq.v1ChannelId("x") }
    val c = MqttClient.connect(nomqOptions(port, "calls"))
    time("client.state()") { c.state() }
    time("client.isConnected()") { c.isConnected() }
    val t0 = System.nanoTime()
    repeat(count) { c.publish("kt-bench/calls", PAYLOAD, Qos.AT_MOST_ONCE, false) }
    System.err.println("%-28s %8.2f us".format("await publish QoS 0", (System.nanoTime() - t0) / 1e3 / count))
    val m = dev.nomq.MqttMessage("kt-bench/calls", PAYLOAD, Qos.AT_MOST_ONCE, false)
    val t1 = System.nanoTime()
    repeat(count) { c.publishMessage(m) }
    System.err.println("%-28s %8.2f us".format("await publishMessage QoS 0", (System.nanoTime() - t1) / 1e3 / count))
    val batch = List(100) { m }
    val t2 = System.nanoTime()
    repeat(count / 100) { c.publishBatch(batch) }
    System.err.println("%-28s %8.2f us".format("publishBatch(100) per msg", (System.nanoTime() - t2) / 1e3 / count))
    c.disconnect()
    "{}"
}
