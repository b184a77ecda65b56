package dev.netfence.hostguard;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The nf_tables ruleset generation of netfence's own network namespace, asked over a pooled
 * {@code NETLINK_NETFILTER} socket ({@code NFT_MSG_GETGEN}; no nft context, no process). The
 * kernel adds one with every committed nftables transaction in the namespace, whoever commits it,
 * so the host guard can tell an unchanged ruleset from a changed one with one small exchange.
 * Kept apart from {@link Rtnetlink}, whose message helpers it shares, because it speaks another
 * netlink family. Failures are {@link IOException}s; a failed exchange closes its socket.
 */
final class HostRulesetGeneration {
    private static final int NETLINK_NETFILTER = 12;
    private static final int NFNL_SUBSYS_NFTABLES = 10;
    private static final short NFT_MSG_NEWGEN = (short) (NFNL_SUBSYS_NFTABLES << 8 | 15);
    private static final short NFT_MSG_GETGEN = (short) (NFNL_SUBSYS_NFTABLES << 8 | 16);
    private static final int NFTA_GEN_ID = 1;
    private static final int NFGENMSG = 4;

    private HostRulesetGeneration() {
    }

    /** The current generation; an unchanged generation means an unchanged ruleset (nft, iptables-nft, netavark, netfence). */
    static long read() throws IOException {
        RtnetlinkSocket socket = RtnetlinkSocket.borrow(NETLINK_NETFILTER);
        try {
            socket.send(Rtnetlink.message(NFT_MSG_GETGEN, Rtnetlink.NLM_F_REQUEST, NFGENMSG, 0, socket.nextSeq()));
            ByteBuffer in = socket.reply();
            int start = in.position();
            short type = in.getShort(start + 4);
            if (type == Rtnetlink.NLMSG_ERROR) {
                Rtnetlink.checkError(in, start, "NFT_MSG_GETGEN");
                throw new IOException("NFT_MSG_GETGEN: acknowledged without an answer");
            }
            if (type != NFT_MSG_NEWGEN) {
                throw new IOException("NFT_MSG_GETGEN: unexpected reply type " + type);
            }
            int length = in.getInt(start);
            long generation = -1;
            for (int at = start + Rtnetlink.HEADER + NFGENMSG; at + 4 <= start + length; ) {
                int attrLength = Short.toUnsignedInt(in.getShort(at));
                if (attrLength < 4) {
                    break;
                }
                if ((in.getShort(at + 2) & Rtnetlink.NLA_TYPE_MASK) == NFTA_GEN_ID && attrLength >= 8) {
                    int raw = in.getInt(at + 4); // network byte order
                    generation = Integer.toUnsignedLong(in.order() == ByteOrder.BIG_ENDIAN ? raw : Integer.reverseBytes(raw));
                    break;
                }
                at += Rtnetlink.align(attrLength);
            }
            if (generation < 0) {
                throw new IOException("NFT_MSG_NEWGEN without a generation id");
            }
            socket.giveBack();
            return generation;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }
}
