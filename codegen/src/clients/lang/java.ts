import type { Decl, Field, TypeRef, UnionDecl } from '../decls.js';
import { comment } from '../text.js';

export const JAVA_PACKAGE = 'club.makapix.models';
const DIR = `src/main/java/${JAVA_PACKAGE.replace(/\./g, '/')}`;

/**
 * Java (Jackson 2 annotations, no other dependency): one class per schema in package
 * club.makapix.models, in the Maven layout. Optional fields are left out when null; a required field
 * that may be null is always written; an optional one that may also be null is a `Nullable<T>`
 * (Java null when absent, `Nullable.ofNull()` for null). A union is an interface its members
 * implement, read by its discriminator (`@JsonTypeInfo` on the existing property).
 */
export function renderJava(decls: Decl[], banner: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const head = [...banner.map((l) => `// ${l}`), `package ${JAVA_PACKAGE};`, ''];
  const unionsOf = new Map<string, string[]>();
  for (const d of decls) if (d.kind === 'union') for (const m of d.members) unionsOf.set(m, [...(unionsOf.get(m) ?? []), d.name]);
  files.set(`${DIR}/Nullable.java`, [...head, ...NULLABLE].join('\n'));
  for (const d of decls) {
    const out = [...head];
    if (d.kind === 'enum') {
      const vt = d.valueType === 'integer' ? 'long' : 'String';
      out.push('import com.fasterxml.jackson.annotation.JsonCreator;', 'import com.fasterxml.jackson.annotation.JsonValue;', '');
      out.push(...comment('', d.description, '/** ', ' * ', ' */'), `public enum ${d.name} {`);
      out.push(d.values.map((v) => `  ${v.key}(${d.valueType === 'integer' ? `${v.value}L` : JSON.stringify(v.value)})`).join(',\n') + ';', '');
      out.push(`  private final ${vt} value;`, '', `  ${d.name}(${vt} value) {`, '    this.value = value;', '  }', '');
      out.push('  /** The value on the wire. */', '  @JsonValue', `  public ${vt} getValue() {`, '    return value;', '  }', '');
      out.push(`  /** The constant of a wire value; IllegalArgumentException for an unknown one. */`, '  @JsonCreator', `  public static ${d.name} fromValue(${vt} value) {`);
      out.push(`    for (${d.name} e : values()) if (${d.valueType === 'integer' ? 'e.value == value' : 'e.value.equals(value)'}) return e;`);
      out.push(`    throw new IllegalArgumentException("unknown ${d.name} " + value);`, '  }', '}');
    } else if (d.kind === 'union') {
      out.push('import com.fasterxml.jackson.annotation.JsonSubTypes;', 'import com.fasterxml.jackson.annotation.JsonTypeInfo;', '');
      out.push(...comment('', d.description, '/** ', ' * ', ' */'), ...unionAnnotations(d), `public interface ${d.name} {}`);
    } else {
      out.push('import com.fasterxml.jackson.annotation.JsonIgnoreProperties;', 'import com.fasterxml.jackson.annotation.JsonInclude;', 'import com.fasterxml.jackson.annotation.JsonProperty;', '');
      out.push(...comment('', d.description, '/** ', ' * ', ' */'));
      const impl = unionsOf.get(d.name);
      out.push('@JsonIgnoreProperties(ignoreUnknown = true)', `public class ${d.name}${impl ? ` implements ${impl.join(', ')}` : ''} {`);
      for (const f of d.fields) {
        out.push(...comment('  ', f.description, '/** ', ' * ', ' */'));
        out.push(`  @JsonProperty(${JSON.stringify(f.json)})`, `  @JsonInclude(JsonInclude.Include.${f.required ? 'ALWAYS' : 'NON_NULL'})`);
        out.push(`  private ${fieldType(f)} ${f.name}${initial(f)};`, '');
      }
      for (const f of d.fields) {
        const t = fieldType(f);
        const cap = f.name.charAt(0).toUpperCase() + f.name.slice(1);
        out.push(`  public ${t} get${cap}() {`, `    return ${f.name};`, '  }', '');
        out.push(`  public void set${cap}(${t} ${f.name}) {`, `    this.${f.name} = ${f.name};`, '  }', '');
      }
      if (out[out.length - 1] === '') out.pop();
      out.push('}');
    }
    files.set(`${DIR}/${d.name}.java`, out.join('\n') + '\n');
  }
  return files;
}

function unionAnnotations(d: UnionDecl): string[] {
  const out: string[] = [];
  out.push(`@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.EXISTING_PROPERTY, property = ${JSON.stringify(d.discriminator.json)}, visible = true)`);
  out.push('@JsonSubTypes({');
  out.push(d.discriminator.byValue.map(([v, m]) => `  @JsonSubTypes.Type(value = ${m}.class, name = ${JSON.stringify(String(JSON.parse(v)))})`).join(',\n'));
  out.push('})');
  return out;
}

function initial(f: Field): string {
  if (f.constValue === undefined || f.constValue === null) return '';
  if (typeof f.constValue === 'string') return ` = ${JSON.stringify(f.constValue)}`;
  if (typeof f.constValue === 'boolean') return ` = ${f.constValue}`;
  return ` = ${f.constValue}L`;
}

function fieldType(f: Field): string {
  const t = f.type.kind === 'null' ? 'Object' : typeOf(f.type);
  return !f.required && (f.nullable || f.type.kind === 'null') ? `Nullable<${t}>` : t;
}

function typeOf(t: TypeRef): string {
  switch (t.kind) {
    case 'string': return 'String';
    case 'integer': return 'Long';
    case 'number': return 'Double';
    case 'boolean': return 'Boolean';
    case 'null': case 'any': return 'Object';
    case 'array': return `java.util.List<${typeOf(t.items)}>`;
    case 'map': return `java.util.Map<String, ${typeOf(t.value)}>`;
    case 'ref': return t.name;
  }
}

const NULLABLE = `import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.BeanProperty;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.deser.ContextualDeserializer;
import java.io.IOException;
import java.util.Objects;

/**
 * An optional field that may also be null: the field holds Java null when it is absent, and a
 * Nullable when it is present, whose value is null for a JSON null.
 */
@JsonDeserialize(using = Nullable.Deserializer.class)
public final class Nullable<T> {
  private final T value;

  private Nullable(T value) {
    this.value = value;
  }

  /** A present JSON null. */
  public static <T> Nullable<T> ofNull() {
    return new Nullable<>(null);
  }

  /** A present value (null gives a JSON null). */
  public static <T> Nullable<T> of(T value) {
    return new Nullable<>(value);
  }

  /** The value, or null for a JSON null. */
  @JsonValue
  public T get() {
    return value;
  }

  public boolean isNull() {
    return value == null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Nullable && Objects.equals(((Nullable<?>) o).value, value);
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(value);
  }

  @Override
  public String toString() {
    return "Nullable[" + value + "]";
  }

  /** Reads a present field: a JSON null becomes ofNull(), a value of(value) read as T. */
  public static final class Deserializer extends JsonDeserializer<Nullable<?>> implements ContextualDeserializer {
    private final JavaType inner;

    public Deserializer() {
      this(null);
    }

    private Deserializer(JavaType inner) {
      this.inner = inner;
    }

    @Override
    public JsonDeserializer<?> createContextual(DeserializationContext ctxt, BeanProperty property) {
      JavaType t = property != null ? property.getType() : ctxt.getContextualType();
      return new Deserializer(t.containedTypeOrUnknown(0));
    }

    @Override
    public Nullable<?> deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      return Nullable.of(ctxt.readValue(p, inner));
    }

    @Override
    public Nullable<?> getNullValue(DeserializationContext ctxt) {
      return Nullable.ofNull();
    }
  }
}
`.split('\n');
