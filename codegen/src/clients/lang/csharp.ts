import {
  ConstrainedDictionaryModel, ConstrainedEnumModel, ConstrainedReferenceModel, CSharpGenerator,
  type ConstrainedObjectPropertyModel, type CSharpPreset,
} from '@asyncapi/modelina';

/**
 * C# for the compiler Debian 12 has (mono's mcs, C# 7) and Debian's Newtonsoft.Json (6.0):
 * - no C# 8 nullable reference annotations (`string?`, `dynamic?`): Modelina's type mapping adds `?`
 *   to every optional property and its enum renderer to every return type; here `?` goes only on value
 *   types (int, bool, Guid, enums...), which are `Nullable<T>`, and only where absent or null is allowed;
 * - Newtonsoft attributes instead of Modelina's System.Text.Json preset (not in mono) or its Newtonsoft
 *   preset (it subclasses `JsonConverter<T>`, Json.NET 11+): `[JsonProperty("wire_name")]` on
 *   auto-properties, optional ones left out when null, required ones always written (null included);
 *   string enums read and written by their wire values (`[EnumMember]` + `StringEnumConverter`),
 *   integer enums by their numbers; extra members (`additionalProperties`) through `[JsonExtensionData]`;
 * - a `const` property returns the spec's value and its private setter (used by Json.NET) refuses any
 *   other (Modelina prints
 *   `const bool success = undefined;` for a boolean const, and `public const T X { get; }` with
 *   auto-properties, which is not C#).
 * - an optional property that may also be null keeps null apart from absent with Json.NET's
 *   `<Name>Specified` convention.
 */
const VALUE_TYPES = new Set(['int', 'long', 'double', 'bool', 'System.Guid', 'System.DateTime', 'System.DateTimeOffset', 'System.TimeSpan']);

function isEnumRef(p: ConstrainedObjectPropertyModel): boolean {
  return p.property instanceof ConstrainedReferenceModel && p.property.ref instanceof ConstrainedEnumModel;
}

function csLiteral(v: unknown, where: string): string {
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return JSON.stringify(v);
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  throw new Error(`client models (csharp): ${where}: const ${JSON.stringify(v)} is not a string, a boolean, an integer or null`);
}

/** A C# identifier for the PascalCase of a wire property name (what Modelina's accessors use). */
function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * Every kind of Modelina's C# type mapping, without the `?` it adds to optional properties (the preset
 * decides), and date/time formats kept as the wire's `string` (Json.NET writes a `DateTimeOffset` back
 * as `+00:00` where the spec's examples say `Z`).
 */
const TYPE_MAPPING = Object.fromEntries(
  Object.entries(CSharpGenerator.defaultOptions.typeMapping).map(([kind, f]) => [
    kind,
    (args: any) => (kind === 'String' && ['date-time', 'dateTime', 'date', 'time'].includes(args.constrainedModel.options.format) ? 'string' : (f as (a: any) => string)({ ...args, partOfProperty: undefined })),
  ]),
);

function preset(nullable: Set<string>): CSharpPreset {
  return {
    class: {
      self({ renderer }) {
        renderer.dependencyManager.addDependency('using Newtonsoft.Json;');
        return renderer.defaultSelf();
      },
      property({ model, property }) {
        const wire = property.unconstrainedPropertyName;
        const name = pascal(property.propertyName);
        const where = `${model.name}.${wire}`;
        const c = (property.property.originalInput as { const?: unknown } | undefined)?.const;
        if (c !== undefined) {
          // read too (through the private setter, which refuses any other value), so it never lands in the extension data
          const v = csLiteral(c, where);
          const attr = `[JsonProperty("${wire}"${property.required ? `, Required = Required.${c === null ? 'AllowNull' : 'Always'}` : ''})]`;
          return `${attr}\npublic ${property.property.type} ${name}\n{\n  get { return ${v}; }\n  private set { if (!object.Equals((object)value, ${v})) throw new JsonSerializationException(${JSON.stringify(`${wire} must be ${JSON.stringify(c)}, got `)} + JsonConvert.SerializeObject(value)); }\n}`;
        }
        if (property.property instanceof ConstrainedDictionaryModel && property.property.serializationType === 'unwrap') {
          return `[JsonExtensionData]\npublic ${property.property.type} ${name} { get; set; }`;
        }
        const isNullable = nullable.has(`${model.name}.${wire}`);
        const mayBeNull = !property.required || isNullable;
        const valueType = VALUE_TYPES.has(property.property.type) || isEnumRef(property);
        const type = valueType && mayBeNull ? `${property.property.type}?` : property.property.type;
        if (!property.required && isNullable) {
          // absent or null: Json.NET's `<Name>Specified` convention (set when read, consulted when written)
          const field = `${property.propertyName.charAt(0).toLowerCase()}${property.propertyName.slice(1)}`;
          return [
            `private ${type} ${field};`,
            `/// <summary>Set (true) when ${name} is on the wire, null included; setting ${name} sets it.</summary>`,
            `[JsonIgnore]`,
            `public bool ${name}Specified { get; set; }`,
            `[JsonProperty("${wire}", NullValueHandling = NullValueHandling.Include)]`,
            `public ${type} ${name}`,
            `{`,
            `  get { return ${field}; }`,
            `  set { ${field} = value; ${name}Specified = true; }`,
            `}`,
          ].join('\n');
        }
        const attr = property.required ? `[JsonProperty("${wire}", Required = Required.${mayBeNull ? 'AllowNull' : 'Always'})]` : `[JsonProperty("${wire}", NullValueHandling = NullValueHandling.Ignore)]`;
        return `${attr}\npublic ${type} ${name} { get; set; }`;
      },
      accessor() {
        return '';
      },
    },
    enum: {
      self({ renderer, model }) {
        const values = model.values.map((v) => v.originalInput as unknown);
        if (values.every((v) => typeof v === 'string')) {
          renderer.dependencyManager.addDependency('using Newtonsoft.Json;');
          renderer.dependencyManager.addDependency('using Newtonsoft.Json.Converters;');
          renderer.dependencyManager.addDependency('using System.Runtime.Serialization;');
          const items = model.values.map((v) => `[EnumMember(Value = ${JSON.stringify(v.originalInput)})]\n${v.key}`);
          return `[JsonConverter(typeof(StringEnumConverter))]\npublic enum ${model.name}\n{\n${renderer.indent(items.join(',\n'))}\n}\n`;
        }
        if (values.every((v) => typeof v === 'number' && Number.isInteger(v))) {
          const items = model.values.map((v) => `${v.key} = ${v.originalInput as number}`);
          return `public enum ${model.name}\n{\n${renderer.indent(items.join(',\n'))}\n}\n`;
        }
        throw new Error(`client models (csharp): enum ${model.name} mixes value types (${JSON.stringify(values)}); only all-string or all-integer enums are printed`);
      },
    },
  };
}

export function csharpGenerator(nullable: Set<string>): CSharpGenerator {
  return new CSharpGenerator({
    autoImplementedProperties: true,
    typeMapping: TYPE_MAPPING as any,
    presets: [preset(nullable)],
    processorOptions: { interpreter: { ignoreAdditionalProperties: true } },
  });
}
