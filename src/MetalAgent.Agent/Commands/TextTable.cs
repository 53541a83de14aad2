using System.Text;

namespace MetalAgent.Agent.Commands;

/// <summary>Left-aligned columns separated by two spaces; the last column is not padded.</summary>
internal sealed class TextTable
{
    private readonly List<string[]> _rows = [];

    public TextTable(params string[] header) => _rows.Add(header);

    public int Rows => _rows.Count - 1;

    public void Add(params string[] row) => _rows.Add(row);

    public override string ToString()
    {
        int columns = _rows[0].Length;
        int[] widths = new int[columns];
        foreach (string[] row in _rows)
        {
            for (int i = 0; i < columns - 1; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        var text = new StringBuilder();
        foreach (string[] row in _rows)
        {
            var line = new StringBuilder();
            for (int i = 0; i < columns; i++)
            {
                line.Append(i < columns - 1 ? row[i].PadRight(widths[i] + 2) : row[i]);
            }
            text.Append(line.ToString().TrimEnd()).Append('\n');
        }
        return text.ToString();
    }
}
