package dev.braid.cli;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test run once per transport of {@link DemoSupport#transports()} (NIO and the best native one
 * by default); the method takes the {@link dev.braid.runtime.Transport} as its parameter.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedTest(name = "{0}")
@MethodSource("dev.braid.cli.DemoSupport#transports")
@interface TransportTest {
}
