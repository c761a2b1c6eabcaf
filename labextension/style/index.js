import './base.css';
import './housekeeping.css';
import './columns.css';
import './reproduce.css';
