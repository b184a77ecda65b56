package dev.netfence.nft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * One statement of an nft rule in both forms netfence needs: the text it writes (exactly as
 * {@code nft list} prints it back) and the JSON object {@code nft -j list} reads back for it. One
 * source for both, so the renderer and the read-back verification cannot drift apart.
 */
record NftExpr(String text, JsonNode json) {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    NftExpr {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(json, "json");
    }

    /** {@code meta KEY VALUE}: e.g. {@code meta nfproto ipv4}, {@code meta oiftype loopback}. */
    static NftExpr meta(String key, String value, String text) {
        return match(JSON.objectNode().set("meta", JSON.objectNode().put("key", key)), JSON.textNode(value), text);
    }

    /** {@code PROTOCOL FIELD VALUE}, e.g. {@code tcp dport 443}. */
    static NftExpr payload(String protocol, String field, JsonNode right, String text) {
        ObjectNode payload = JSON.objectNode().put("protocol", protocol).put("field", field);
        return match(JSON.objectNode().set("payload", payload), right, text);
    }

    /** {@code ct state established,related}. */
    static NftExpr ctStateEstablished() {
        ArrayNode states = JSON.arrayNode().add("established").add("related");
        ObjectNode match = JSON.objectNode().put("op", "in");
        match.set("left", JSON.objectNode().set("ct", JSON.objectNode().put("key", "state")));
        match.set("right", states);
        return new NftExpr("ct state established,related", JSON.objectNode().set("match", match));
    }

    /** {@code ct direction reply}: a packet travelling in its connection's reply direction. */
    static NftExpr ctDirectionReply() {
        ObjectNode match = JSON.objectNode().put("op", "==");
        match.set("left", JSON.objectNode().set("ct", JSON.objectNode().put("key", "direction")));
        match.set("right", JSON.textNode("reply"));
        return new NftExpr("ct direction reply", JSON.objectNode().set("match", match));
    }

    /** {@code ct mark 0x…}: a packet of a connection that carries {@code mark}. */
    static NftExpr ctMark(long mark) {
        ObjectNode match = JSON.objectNode().put("op", "==");
        match.set("left", JSON.objectNode().set("ct", JSON.objectNode().put("key", "mark")));
        match.set("right", markNode(mark));
        return new NftExpr(String.format("ct mark 0x%08x", mark), JSON.objectNode().set("match", match));
    }

    /** {@code ct mark set 0x…}: the packet's connection is given {@code mark}. */
    static NftExpr ctMarkSet(long mark) {
        ObjectNode mangle = JSON.objectNode();
        mangle.set("key", JSON.objectNode().set("ct", JSON.objectNode().put("key", "mark")));
        mangle.set("value", markNode(mark));
        return new NftExpr(String.format("ct mark set 0x%08x", mark), JSON.objectNode().set("mangle", mangle));
    }

    /** A mark as nft's JSON reads back (an int where it fits, as Jackson parses it: an int and a long node differ). */
    private static JsonNode markNode(long mark) {
        return mark <= Integer.MAX_VALUE ? JSON.numberNode((int) mark) : JSON.numberNode(mark);
    }

    /** {@code tcp flags ! syn}: a TCP segment without SYN. */
    static NftExpr tcpFlagsWithoutSyn() {
        ObjectNode match = JSON.objectNode().put("op", "!");
        match.set("left", JSON.objectNode().set("payload", JSON.objectNode().put("protocol", "tcp").put("field", "flags")));
        match.set("right", JSON.textNode("syn"));
        return new NftExpr("tcp flags ! syn", JSON.objectNode().set("match", match));
    }

    /** {@code PROTOCOL FIELD != VALUE}, e.g. {@code ip6 saddr != ::}. */
    static NftExpr payloadNot(String protocol, String field, String value, String text) {
        return payloadNot(protocol, field, JSON.textNode(value), text);
    }

    /** {@code PROTOCOL FIELD != RIGHT}, {@code right} an address or a prefix ({@link #prefix}). */
    static NftExpr payloadNot(String protocol, String field, JsonNode right, String text) {
        ObjectNode match = JSON.objectNode().put("op", "!=");
        match.set("left", JSON.objectNode().set("payload", JSON.objectNode().put("protocol", protocol).put("field", field)));
        match.set("right", right);
        return new NftExpr(text, JSON.objectNode().set("match", match));
    }

    /** {@code meta KEY != VALUE}, e.g. {@code meta iiftype != loopback}. */
    static NftExpr metaNot(String key, String value, String text) {
        ObjectNode match = JSON.objectNode().put("op", "!=");
        match.set("left", JSON.objectNode().set("meta", JSON.objectNode().put("key", key)));
        match.set("right", JSON.textNode(value));
        return new NftExpr(text, JSON.objectNode().set("match", match));
    }

    /** {@code fib saddr type local}: a source address that is one of the namespace's own. */
    static NftExpr sourceLocal() {
        return fibType("saddr", "==", "local");
    }

    /** {@code fib saddr type broadcast}: (IPv4) a broadcast source address (a subnet's, 255.255.255.255, 0.0.0.0). */
    static NftExpr sourceBroadcast() {
        return fibType("saddr", "==", "broadcast");
    }

    /** {@code fib daddr type broadcast}: (IPv4) a broadcast destination of the namespace's subnets, or 255.255.255.255. */
    static NftExpr destinationBroadcast() {
        return fibType("daddr", "==", "broadcast");
    }

    /** {@code fib saddr type != local}: a source address that is not one of the namespace's own. */
    static NftExpr sourceNotLocal() {
        return fibType("saddr", "!=", "local");
    }

    /**
     * Where a packet sent through lo may go. IPv4: {@code fib daddr type != unicast}, a destination
     * local to the namespace or a broadcast or multicast one (IPv4's address types are no others).
     * IPv6: {@code fib daddr type local}, as ip6tables' {@code --dst-type LOCAL}: for IPv6 "not
     * unicast" also takes anycast (the subnet-router anycast address a namespace with forwarding on
     * holds, which a remote host answers "from" with {@code IPV6_FREEBIND}: reproduced), and
     * unreachable, blackhole and prohibit routes. Not a set of the types meant: an anonymous set
     * would be a set in netfence's table, which holds none.
     */
    static NftExpr destinationLocal(boolean ipv4) {
        return ipv4 ? fibType("daddr", "!=", "unicast") : fibType("daddr", "==", "local");
    }

    private static NftExpr fibType(String address, String op, String type) {
        ObjectNode match = JSON.objectNode().put("op", op);
        ObjectNode fib = JSON.objectNode().put("result", "type");
        fib.set("flags", JSON.arrayNode().add(address));
        match.set("left", JSON.objectNode().set("fib", fib));
        match.set("right", JSON.textNode(type));
        return new NftExpr("fib " + address + " type " + ("==".equals(op) ? "" : op + " ") + type,
                JSON.objectNode().set("match", match));
    }

    /** A verdict without argument: {@code accept} or {@code drop}. */
    static NftExpr verdict(String verdict) {
        return new NftExpr(verdict, JSON.objectNode().set(verdict, JSON.nullNode()));
    }

    /** {@code reject with icmp|icmpv6 port-unreachable}. */
    static NftExpr rejectPortUnreachable(String icmpType) {
        ObjectNode reject = JSON.objectNode().put("type", icmpType).put("expr", "port-unreachable");
        return new NftExpr("reject with " + icmpType + " port-unreachable", JSON.objectNode().set("reject", reject));
    }

    static JsonNode number(int value) {
        return JSON.numberNode(value);
    }

    static JsonNode text(String value) {
        return JSON.textNode(value);
    }

    static JsonNode prefix(String address, int length) {
        return JSON.objectNode().set("prefix", JSON.objectNode().put("addr", address).put("len", length));
    }

    private static NftExpr match(JsonNode left, JsonNode right, String text) {
        ObjectNode match = JSON.objectNode().put("op", "==");
        match.set("left", left);
        match.set("right", right);
        return new NftExpr(text, JSON.objectNode().set("match", match));
    }
}
