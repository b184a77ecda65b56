# netfence: build the shaded jar with Maven, run it on a JRE with the firewall tools.
#   docker build -t netfence:local .
# The container must run with the host pid namespace, CAP_SYS_ADMIN, CAP_NET_ADMIN and
# CAP_SYS_PTRACE to enter other containers' network namespaces (see docker-compose.yml); without
# any of them `netfence run` and `netfence apply` refuse to start.

FROM maven:3-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY schemas schemas
COPY src src
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
# libnftables1 (the default backend, in process) and nft (its fallback, and the host guard's),
# iptables/ip6tables(-restore), ip (iproute2), nsenter (util-linux), conntrack; curl for the
# compose healthcheck (installed here: the eclipse-temurin images drop it from JDK 22 on)
RUN apt-get update \
 && apt-get install -y --no-install-recommends libnftables1 nftables iptables iproute2 util-linux conntrack curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/netfence.jar /opt/netfence/netfence.jar
# metrics and health: /metrics, /healthz, /readyz
EXPOSE 9464
# C1 only, as scripts/netfence (see there); set JDK_JAVA_OPTIONS at run time to change it
ENV JDK_JAVA_OPTIONS=-XX:TieredStopAtLevel=1
ENTRYPOINT ["java", "-jar", "/opt/netfence/netfence.jar", "run"]
