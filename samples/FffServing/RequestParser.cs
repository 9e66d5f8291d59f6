using System;
using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FffServing;

/// <summary>
/// Reads a <c>POST /predict</c> body straight into a row-major float buffer and names the first problem it finds. Bodies:
/// <c>{"features": [f, ...]}</c> for one row, <c>{"rows": [[f, ...], ...]}</c> for a batch. Written against
/// <see cref="Utf8JsonReader"/> rather than a DTO so that every 400 can say which field, row and position is wrong, and so
/// that no per-row arrays are allocated.
/// </summary>
internal static class RequestParser
{
    /// <summary>Shape help appended to messages about the body's overall form.</summary>
    public const string Expected = "send {\"features\": [numbers]} for one row or {\"rows\": [[numbers], ...]} for a batch";

    /// <summary>
    /// Parses <paramref name="body"/>. On success returns null, with the features in <paramref name="buffer"/> (rented from
    /// <see cref="ArrayPool{T}.Shared"/>; replaced by a larger rented array when it is too small, the old one returned) and
    /// the row count in <paramref name="rows"/>. On failure returns the message for the 400.
    /// </summary>
    public static string? Parse(in ReadOnlySequence<byte> body, int featureCount, int maxRows, ref float[] buffer, out int rows, out bool batch)
    {
        rows = 0;
        batch = false;
        if (body.IsEmpty)
            return "the request body is empty; " + Expected + ".";
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 8 });
        try
        {
            if (!reader.Read())
                return "the request body is empty; " + Expected + ".";
            if (reader.TokenType != JsonTokenType.StartObject)
                return $"the body must be a JSON object, not {Describe(reader.TokenType)}; {Expected}.";
            bool sawFeatures = false, sawRows = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("features"u8))
                {
                    if (sawFeatures || sawRows)
                        return sawRows ? "send either 'features' or 'rows', not both." : "'features' appears twice.";
                    sawFeatures = true;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                        return $"'features' must be an array of {featureCount} numbers, not {Describe(reader.TokenType)}.";
                    string? error = ReadRow(ref reader, featureCount, ref buffer, 0, -1);
                    if (error is not null)
                        return error;
                    rows = 1;
                }
                else if (reader.ValueTextEquals("rows"u8))
                {
                    if (sawFeatures || sawRows)
                        return sawFeatures ? "send either 'features' or 'rows', not both." : "'rows' appears twice.";
                    sawRows = true;
                    batch = true;
                    string? error = ReadRows(ref reader, featureCount, maxRows, ref buffer, out rows);
                    if (error is not null)
                        return error;
                }
                else
                {
                    return $"unknown field '{Shorten(reader.GetString())}'; {Expected}.";
                }
            }
            if (!sawFeatures && !sawRows)
                return "missing field: " + Expected + ".";
            // Anything after the closing brace other than white space makes Read throw (a second JSON value).
            reader.Read();
            return null;
        }
        catch (JsonException e)
        {
            return $"the body is not valid JSON: {e.Message}";
        }
    }

    private static string? ReadRows(ref Utf8JsonReader reader, int featureCount, int maxRows, ref float[] buffer, out int rows)
    {
        rows = 0;
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
            return $"'rows' must be an array of rows (arrays of {featureCount} numbers), not {Describe(reader.TokenType)}.";
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (rows == maxRows)
                return $"'rows' holds more than the limit of {maxRows} rows per request; split the batch.";
            if (reader.TokenType != JsonTokenType.StartArray)
                return $"rows[{rows}] must be an array of {featureCount} numbers, not {Describe(reader.TokenType)}.";
            string? error = ReadRow(ref reader, featureCount, ref buffer, rows * featureCount, rows);
            if (error is not null)
                return error;
            rows++;
        }
        return rows == 0 ? "'rows' is empty; send at least one row." : null;
    }

    /// <summary>Reads one array of numbers (the reader is on its '['); <paramref name="row"/> is -1 for 'features'.</summary>
    private static string? ReadRow(ref Utf8JsonReader reader, int featureCount, ref float[] buffer, int offset, int row)
    {
        if (buffer.Length < offset + featureCount)
            Grow(ref buffer, offset + featureCount);
        int count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                // Numbers beyond the float range parse as infinity, which the finiteness check below names.
                if (!reader.TryGetSingle(out float value) || !float.IsFinite(value))
                    return $"{Name(row)}[{count}] = {Shorten(Raw(ref reader))} is not a finite 32-bit float.";
                if (count < featureCount)
                    buffer[offset + count] = value;
            }
            else if (reader.TokenType == JsonTokenType.String)
            {
                string text = Shorten(reader.GetString());
                return float.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out float parsed) && !float.IsFinite(parsed)
                    ? $"{Name(row)}[{count}] is \"{text}\": NaN and infinity are not valid features; send finite JSON numbers."
                    : $"{Name(row)}[{count}] must be a number, not a string (\"{text}\").";
            }
            else
            {
                return $"{Name(row)}[{count}] must be a number, not {Describe(reader.TokenType)}.";
            }
            count++;
        }
        return count == featureCount ? null : $"{Name(row)} has {count} values; the model expects {featureCount}.";
    }

    private static void Grow(ref float[] buffer, int needed)
    {
        float[] larger = ArrayPool<float>.Shared.Rent(Math.Max(needed, buffer.Length * 2));
        buffer.AsSpan().CopyTo(larger);
        ArrayPool<float>.Shared.Return(buffer);
        buffer = larger;
    }

    private static string Name(int row) => row < 0 ? "features" : $"rows[{row}]";

    private static string Raw(ref Utf8JsonReader reader) =>
        Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);

    // Echo at most 40 characters of what the client sent: enough to recognize, not a way to fill our logs.
    public static string Shorten(string? text) => text is null ? "null" : text.Length <= 40 ? text : text[..40] + "...";

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };
}
