package dev.netfence.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PolicyDigestTest {
    private final PolicyParser parser = new PolicyParser();

    private String digestOf(String json) {
        return PolicyDigest.of(parser.parse(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void theDigestIsSha256HexOfTheCanonicalForm() {
        assertThat(digestOf("{\"schemaVersion\":1,\"preset\":\"default\"}")).matches("sha256:[0-9a-f]{64}");
    }

    @Test
    void fieldOrderWhitespaceAndAddressSpellingDoNotChangeTheDigest() {
        String a = digestOf("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"[2001:db8::7]:443\",\"Pypi.internal:443\"],\"dns\":true}");
        String b = digestOf("{ \"dns\" : true ,\n \"allowedEndpoints\" : [ \"[2001:DB8:0::7]:443/tcp\", \"pypi.internal:443\" ],"
                + " \"mode\":\"bridge\", \"schemaVersion\": 1 }");
        assertThat(a).isEqualTo(b);
    }

    @Test
    void aPresetAndTheEquivalentExplicitPolicyShareADigest() {
        assertThat(digestOf("{\"schemaVersion\":1,\"preset\":\"default\"}"))
                .isEqualTo(digestOf("{\"schemaVersion\":1,\"mode\":\"none\"}"));
    }

    @Test
    void anyMeaningfulChangeChangesTheDigest() {
        String base = digestOf("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"]}");
        assertThat(digestOf("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:444\"]}")).isNotEqualTo(base);
        assertThat(digestOf("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443/udp\"]}")).isNotEqualTo(base);
        assertThat(digestOf("{\"schemaVersion\":1,\"mode\":\"container\",\"allowedEndpoints\":[\"198.51.100.7:443\"]}")).isNotEqualTo(base);
        assertThat(digestOf("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"],\"dns\":false}")).isNotEqualTo(base);
    }
}
