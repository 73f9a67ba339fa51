package dev.nomq

import dev.nomq.core.OutboxPolicy
import dev.nomq.core.ProtocolVersion
import dev.nomq.core.MqttPublishOutcome
import dev.nomq.core.Qos
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.test.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue

/** The MQTT client through the bindings against the real mosquitto the test script started. */
class MqttTest {
    private fun options(name: String, version: ProtocolVersion = ProtocolVersion.V311, cleanStart: Boolean = true) =
        MqttOptions(
            host = "127.0.0.1",
            port = Env.mqttPort,
            clientId = "kt-$name-${Env.run}",
            version = version,
            cleanStart = cleanStart,
            reconnect = MqttReconnect(initialMs = 50uL, maxMs = 500uL),
        )

    private suspend fun take(client: MqttClient, n: Int, timeoutMs: Long = 10_000): List<MqttMessage> {
        val got = mutableListOf<MqttMessage>()
        withTimeoutOrNull(timeoutMs) {
            while (got.size < n) got += client.recv() ?: break
        }
        return got
    }

    /** As [take], through recvMany: several messages per call. */
    private suspend fun takeMany(client: MqttClient, n: Int, timeoutMs: Long = 10_000): List<MqttMessage> {
        val got = mutableListOf<MqttMessage>()
        withTimeoutOrNull(timeoutMs) {
            while (got.size < n) got += client.recvMany((n - got.size).toUInt()).ifEmpty { return@withTimeoutOrNull }
        }
        return got
    }

    @Test
    fun qos012BothWaysOver311And5(): Unit = runBlocking {
        for (version in listOf(ProtocolVersion.V311, ProtocolVersion.V5)) {
            val tag = "$version".lowercase()
            val a = MqttClient.connect(options("a-$tag", version))
            val b = MqttClient.connect(options("b-$tag", version))
            val toA = "kt/${Env.run}/$tag/to-a"
            val toB = "kt/${Env.run}/$tag/to-b"
            assertContentEquals(byteArrayOf(2), a.subscribe(toA, Qos.EXACTLY_ONCE))
            assertContentEquals(byteArrayOf(2), b.subscribe(toB, Qos.EXACTLY_ONCE))
            for (qos in Qos.entries) {
                val outcome = a.publish(toB, "a${qos.ordinal}".toByteArray(), qos, false)
                if (qos == Qos.AT_MOST_ONCE) assertEquals(MqttPublishOutcome.Sent, outcome)
                else assertIs<MqttPublishOutcome.Confirmed>(outcome, "$tag QoS $qos")
                val back = b.publish(toA, "b${qos.ordinal}".toByteArray(), qos, false)
                if (qos == Qos.AT_MOST_ONCE) assertEquals(MqttPublishOutcome.Sent, back)
                else assertIs<MqttPublishOutcome.Confirmed>(back, "$tag QoS $qos back")
            }
            val atB = take(b, 3)
            val atA = takeMany(a, 3)
            assertEquals(listOf("a0", "a1", "a2"), atB.map { String(it.payload) }, "$tag: a to b")
            assertEquals(listOf("b0", "b1", "b2"), atA.map { String(it.payload) }, "$tag: b to a")
            assertEquals(listOf(Qos.AT_MOST_ONCE, Qos.AT_LEAST_ONCE, Qos.EXACTLY_ONCE), atB.map { it.qos })
            a.disconnect()
            b.disconnect()
            a.close()
            b.close()
        }
    }

    @Test
    fun aBatchPublishesInOrderAndAnInvalidTopicSendsNothing(): Unit = runBlocking {
        val c = MqttClient.connect(options("batch"))
        val t = "kt/${Env.run}/batch"
        c.subscribe(t, Qos.EXACTLY_ONCE)
        for (qos in Qos.entries) {
            val outcomes = c.publishBatch(List(50) { MqttMessage(t, "$qos $it".toByteArray(), qos, false) })
            assertEquals(50, outcomes.size)
            if (qos == Qos.AT_MOST_ONCE) assertTrue(outcomes.all { it == MqttPublishOutcome.Sent })
            else assertTrue(outcomes.all { it is MqttPublishOutcome.Confirmed }, "$qos: $outcomes")
            assertEquals((0 until 50).map { "$qos $it" }, takeMany(c, 50).map { String(it.payload) }, "$qos: in order")
        }
        val bad = List(3) { MqttMessage(if (it == 2) "a/#" else t, "bad $it".toByteArray(), Qos.AT_LEAST_ONCE, false) }
        val e = assertFailsWith<NomqException.MqttInvalidTopic> { c.publishBatch(bad) }
        assertTrue("a/#" in e.detail, e.detail)
        c.publish(t, "after".toByteArray(), Qos.AT_LEAST_ONCE, false)
        assertEquals(listOf("after"), take(c, 1).map { String(it.payload) }, "nothing of the refused batch was sent")
        c.disconnect()
    }

    @Test
    fun mqtt5PropertiesTravel(): Unit = runBlocking {
        val a = MqttClient.connect(options("props", ProtocolVersion.V5))
        val t = "kt/${Env.run}/props"
        a.subscribe(t, Qos.AT_LEAST_ONCE)
        val props = MqttProperties(
            contentType = "text/plain",
            responseTopic = "$t/reply",
            correlationData = byteArrayOf(1, 2, 3),
            messageExpiryInterval = 60u,
            userProperties = listOf(UserProperty("k", "v")),
        )
        a.publishMessage(MqttMessage(t, "hi".toByteArray(), Qos.AT_LEAST_ONCE, false, props))
        val m = take(a, 1).single()
        assertEquals("text/plain", m.properties.contentType)
        assertEquals("$t/reply", m.properties.responseTopic)
        assertContentEquals(byteArrayOf(1, 2, 3), m.properties.correlationData)
        assertEquals(listOf(UserProperty("k", "v")), m.properties.userProperties)
        a.disconnect()
    }

    @Test
    fun aListenerGetsMessagesAndStatesUntilStopped(): Unit = runBlocking {
        val sub = MqttClient.connect(options("listen"))
        val pub = MqttClient.connect(options("listen-pub"))
        val t = "kt/${Env.run}/listen"
        sub.subscribe(t, Qos.AT_LEAST_ONCE)
        val messages = CopyOnWriteArrayList<String>()
        val states = CopyOnWriteArrayList<MqttConnectionState>()
        val echoed = CopyOnWriteArrayList<MqttPublishOutcome>()
        val listening = sub.listen(object : MqttListener {
            override fun onMessage(message: MqttMessage) {
                val text = String(message.payload)
                messages += text
                // A callback may call back into the client and wait: it has a thread of its own.
                if (text == "m5") {
                    echoed += runBlocking { sub.publish("$t/echo", "from the listener".toByteArray(), Qos.AT_LEAST_ONCE, false) }
                }
                // A callback that throws loses nothing else.
                if (text == "m7") throw IllegalStateException("the application's bug")
            }

            override fun onState(state: MqttConnectionState) {
                states += state
            }
        })
        repeat(20) { pub.publish(t, "m$it".toByteArray(), Qos.AT_LEAST_ONCE, false) }
        withTimeout(10_000) { while (messages.size < 20) delay(10) }
        assertEquals((0 until 20).map { "m$it" }, messages.toList(), "every message, the one after the throw too")
        assertEquals(1, echoed.size)
        assertIs<MqttPublishOutcome.Confirmed>(echoed.single(), "the publish made inside the callback")
        assertIs<MqttConnectionState.Connected>(states.first())
        assertTrue(sub.isConnected())
        listening.stop()
        withTimeout(5_000) { while (!listening.isStopped()) delay(10) }
        pub.publish(t, "after".toByteArray(), Qos.AT_LEAST_ONCE, false)
        assertEquals("after", String(take(sub, 1).single().payload), "after stop, recv gets the next message")
        assertEquals(20, messages.size)
        sub.disconnect()
        assertEquals(MqttConnectionState.Closed, sub.state())
        pub.disconnect()
    }

    @Test
    fun aBrokerRestartMidStreamLosesNoQos1Message(): Unit = runBlocking {
        val t = "kt/${Env.run}/restart"
        // Persistent sessions: the broker keeps the subscription and the queued messages.
        val sub = MqttClient.connect(options("restart-sub", cleanStart = false))
        sub.subscribe(t, Qos.AT_LEAST_ONCE)
        val pub = MqttClient.connect(options("restart-pub", cleanStart = false))
        val states = CopyOnWriteArrayList<MqttConnectionState>()
        val watching = pub.listen(object : MqttListener {
            override fun onMessage(message: MqttMessage) {}
            override fun onState(state: MqttConnectionState) {
                states += state
            }
        })
        // The broker restarts (a crash and recovery) while publishes are in flight: a thread
        // restarts it a moment after the stream starts; publishes go on in windows of 50.
        val n = 3000
        val restartFailure = java.util.concurrent.atomic.AtomicReference<Throwable>()
        val restarter = Thread {
            try {
                Thread.sleep(30)
                Env.restartBroker()
            } catch (e: Throwable) {
                restartFailure.set(e)
            }
        }
        restarter.start()
        for (window in (0 until n).chunked(50)) {
            coroutineScope {
                window.map { i -> async { pub.publish(t, "$i".toByteArray(), Qos.AT_LEAST_ONCE, false) } }
                    .awaitAll()
                    .forEach { assertIs<MqttPublishOutcome.Confirmed>(it) }
            }
        }
        restarter.join()
        assertEquals(null, restartFailure.get(), "the broker restarted")
        val got = mutableSetOf<Int>()
        withTimeoutOrNull(30_000) { while (got.size < n) got += String((sub.recv() ?: break).payload).toInt() }
        assertEquals((0 until n).toSet(), got, "every QoS 1 message arrived (duplicates allowed)")
        assertTrue(states.any { it == MqttConnectionState.Reconnecting }, "the listener saw the loss: $states")
        withTimeout(10_000) { while (states.last() !is MqttConnectionState.Connected) delay(10) }
        assertTrue(pub.metrics().reconnects >= 1uL)
        watching.stop()
        sub.disconnect()
        pub.disconnect()
    }

    @Test
    fun tlsWithTheTestCa(): Unit = runBlocking {
        val tls = MqttTls(caPem = Env.caPem)
        val c = MqttClient.connect(options("tls").copy(port = Env.mqttTlsPort, tls = tls))
        val t = "kt/${Env.run}/tls"
        c.subscribe(t, Qos.EXACTLY_ONCE)
        assertIs<MqttPublishOutcome.Confirmed>(c.publish(t, "secret".toByteArray(), Qos.EXACTLY_ONCE, false))
        assertEquals("secret", String(take(c, 1).single().payload))
        c.disconnect()
        // Without the CA the system roots do not trust the test certificate.
        val untrusted = options("tls-bad").copy(port = Env.mqttTlsPort, tls = MqttTls(), reconnect = MqttReconnect(enabled = false))
        assertFailsWith<NomqException.Tls> { MqttClient.connect(untrusted) }
    }

    @Test
    fun badInputRaisesTypedExceptionsAndTheClientGoesOn(): Unit = runBlocking {
        val c = MqttClient.connect(options("bad").copy(maxOutboxBytes = 4096uL, outboxPolicy = OutboxPolicy.FAIL))
        for (topic in listOf("a/+/b", "a/#", "")) {
            assertFailsWith<NomqException.MqttInvalidTopic>("topic '$topic'") {
                c.publish(topic, "x".toByteArray(), Qos.AT_LEAST_ONCE, false)
            }
        }
        assertFailsWith<NomqException>("larger than the outbox") {
            c.publish("kt/${Env.run}/big", ByteArray(10_000), Qos.AT_LEAST_ONCE, false)
        }
        assertFailsWith<NomqException.MqttInvalidTopic> { c.subscribe("a/#/b", Qos.AT_LEAST_ONCE) }
        val e = assertFailsWith<NomqException.InvalidArgument> {
            MqttClient.connect(options("bad-opts").copy(keepAliveS = 10u, maxInflight = 0u.toUShort()))
        }
        assertTrue(e.detail.isNotEmpty())
        assertFailsWith<NomqException.Network> {
            MqttClient.connect(options("nobody").copy(port = 1u.toUShort(), reconnect = MqttReconnect(enabled = false)))
        }
        val t = "kt/${Env.run}/after-bad"
        c.subscribe(t, Qos.AT_LEAST_ONCE)
        c.publish(t, "ok".toByteArray(), Qos.AT_LEAST_ONCE, false)
        assertEquals("ok", String(take(c, 1).single().payload), "the client works after the refusals")
        c.disconnect()
        assertFailsWith<NomqException.Closed> { c.publish(t, "late".toByteArray(), Qos.AT_LEAST_ONCE, false) }
    }
}
