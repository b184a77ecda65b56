package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VerifiedListingTest {
    private static final String OUT = "{\"nftables\": [{\"rule\": {\"chain\": \"output\", \"handle\": 3}}]}";
    private static final String IN = "{\"nftables\": [{\"rule\": {\"chain\": \"input\", \"handle\": 9}}]}";
    private final VerifiedListing listing = new VerifiedListing();

    @Test
    void nothingMatchesBeforeAListingVerified() {
        assertThat(listing.matches(OUT, IN)).isFalse();
        assertThat(listing.matches("", "")).isFalse();
    }

    @Test
    void onlyTheVeryTextsThatVerifiedMatch() {
        listing.remember(OUT, IN);

        assertThat(listing.matches(new String(OUT.toCharArray()), new String(IN.toCharArray()))).isTrue();
        assertThat(listing.matches(OUT.replace("handle\": 3", "handle\": 4"), IN)).as("another handle").isFalse();
        assertThat(listing.matches(OUT, IN + " ")).as("one byte more").isFalse();
        assertThat(listing.matches(IN, OUT)).as("the chains swapped").isFalse();
    }

    @Test
    void theLastListingThatVerifiedIsTheOneRemembered() {
        listing.remember(OUT, IN);
        listing.remember(IN, OUT);

        assertThat(listing.matches(IN, OUT)).isTrue();
        assertThat(listing.matches(OUT, IN)).isFalse();
    }
}
