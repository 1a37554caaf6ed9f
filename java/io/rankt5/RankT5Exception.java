package io.rankt5;

import java.nio.charset.StandardCharsets;

/**
 * An error reported by the native rankt5 library: the {@link Status} it returned and the library's message, which
 * names the file, field or input at fault (for example {@code "model /m/x.bin: tensor 'shared.weight' has shape
 * ..."}).
 *
 * <p>Unchecked, like the other errors of this binding: a bad model file or a pair that cannot be encoded is a bug or
 * a configuration error the caller usually cannot recover from locally.
 */
public class RankT5Exception extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The status codes of {@code rankt5.h} ({@code rt5_status}); codes are never renumbered nor reused. */
  public enum Status {
    /** A status this version of the binding does not know (from a newer native library). */
    UNKNOWN(Integer.MIN_VALUE),
    INVALID_ARGUMENT(-1),
    OUT_OF_MEMORY(-2),
    IO(-3),
    FORMAT(-4),
    UNSUPPORTED(-5),
    REFUSED(-6),
    SHAPE(-7),
    BUFFER_TOO_SMALL(-8),
    TOO_LONG(-9),
    CANCELLED(-10),
    INTERNAL(-11),
    THREAD(-12);

    private final int code;

    Status(int code) {
      this.code = code;
    }

    /** The numeric {@code rt5_status} value. */
    public int code() {
      return code;
    }

    /** The status with this code, or {@link #UNKNOWN}. */
    public static Status of(int code) {
      for (Status s : values()) {
        if (s.code == code) {
          return s;
        }
      }
      return UNKNOWN;
    }
  }

  private final Status status;
  private final int code;
  private final String description;

  /** Called from the JNI glue: the message arrives as UTF-8 bytes (file names may hold any characters). */
  RankT5Exception(int code, String description, byte[] utf8Message) {
    this(code, description, new String(utf8Message, StandardCharsets.UTF_8));
  }

  RankT5Exception(int code, String description, String message) {
    super(message + " [" + description + ", rt5_status " + code + "]");
    this.status = Status.of(code);
    this.code = code;
    this.description = description;
  }

  /** The status the native call returned. */
  public Status status() {
    return status;
  }

  /** The raw {@code rt5_status} code (negative), also for statuses this binding does not name. */
  public int code() {
    return code;
  }

  /** The library's English name of the status ({@code rt5_status_str}), e.g. "format error". */
  public String statusDescription() {
    return description;
  }
}
